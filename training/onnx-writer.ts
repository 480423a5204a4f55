/**
 * A small ONNX ModelProto writer (and initializer reader) on protobufjs reflection.
 *
 * Only the subset of onnx.proto that a static inference graph needs is declared below:
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto,
 * TypeProto.Tensor, TensorShapeProto, OperatorSetIdProto and StringStringEntryProto.
 * Field numbers follow onnx/onnx.proto (IR version 8); fields we never set are simply
 * not declared, which protobuf allows (readers skip unknown fields).
 *
 *   ModelProto ─ graph ─┬─ node[]         (op_type, input[], output[], attribute[])
 *                       ├─ initializer[]  (TensorProto, data in raw_data, little-endian)
 *                       ├─ input[]        (ValueInfoProto: name + tensor type + shape)
 *                       └─ output[]
 *
 * Output is deterministic: the same spec always encodes to the same bytes.
 */
import protobuf from 'protobufjs';

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type ElemType = 'float' | 'int32' | 'int64';

const ELEM_CODE: Record<ElemType, number> = { float: DataType.FLOAT, int32: DataType.INT32, int64: DataType.INT64 };

/** AttributeProto.AttributeType values used here. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

const ONNX_SUBSET = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, docString: { type: 'string', id: 3 } },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            docString: { type: 'string', id: 12 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;
function model(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_SUBSET).lookupType('onnx.ModelProto');
  return modelType;
}

/** A constant tensor stored in the graph. */
export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

/** A node attribute; the tag picks the ONNX attribute type. */
export type Attr =
  | { int: number }
  | { ints: number[] }
  | { float: number }
  | { floats: number[] }
  | { string: string };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Unique node name; defaults to `${op}_${index}`. */
  name?: string;
  attrs?: Record<string, Attr>;
}

export interface ValueSpec {
  name: string;
  type: ElemType;
  /** Numbers are fixed sizes, strings are symbolic dimensions ("batch", "seq"). */
  shape: Array<number | string>;
}

export interface ModelSpec {
  graphName: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers: Initializer[];
  /** Default-domain opset version (13..17 are all fine for the ops used here). */
  opset: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Free-form key/value metadata stored in ModelProto.metadata_props. */
  metadata?: Record<string, string>;
}

/** Little-endian bytes of a typed array, independent of the host's byte order. */
function rawBytes(data: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  const out = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  else if (data instanceof Int32Array) for (let i = 0; i < data.length; i++) view.setInt32(i * 4, data[i]!, true);
  else for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i]!, true);
  return out;
}

function elemTypeOf(data: Initializer['data']): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int32Array) return DataType.INT32;
  return DataType.INT64;
}

function attrProto(name: string, a: Attr): Record<string, unknown> {
  if ('int' in a) return { name, type: AttrType.INT, i: a.int };
  if ('ints' in a) return { name, type: AttrType.INTS, ints: a.ints };
  if ('float' in a) return { name, type: AttrType.FLOAT, f: a.float };
  if ('floats' in a) return { name, type: AttrType.FLOATS, floats: a.floats };
  return { name, type: AttrType.STRING, s: Buffer.from(a.string, 'utf8') };
}

function valueInfo(v: ValueSpec): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM_CODE[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialise a model to ONNX protobuf bytes. Throws on an inconsistent spec. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  for (const init of spec.initializers) {
    const n = init.dims.reduce((p, d) => p * d, 1);
    if (n !== init.data.length) throw new Error(`initializer ${init.name}: dims ${init.dims.join('x')} != ${init.data.length} values`);
  }
  const message = {
    irVersion: 8,
    producerName: spec.producerName ?? 'opensesame-predictor',
    producerVersion: spec.producerVersion ?? '',
    docString: spec.docString ?? '',
    opsetImport: [{ domain: '', version: spec.opset }],
    metadataProps: Object.keys(spec.metadata ?? {}).sort().map((key) => ({ key, value: spec.metadata![key] })),
    graph: {
      name: spec.graphName,
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.keys(n.attrs ?? {}).sort().map((k) => attrProto(k, n.attrs![k]!)),
      })),
      initializer: spec.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: elemTypeOf(t.data),
        rawData: rawBytes(t.data),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  };
  const type = model();
  const err = type.verify(message);
  if (err) throw new Error(`ONNX model spec invalid: ${err}`);
  return type.encode(type.fromObject(message)).finish();
}

/** A decoded initializer: float and int64 tensors as plain typed arrays. */
export interface DecodedTensor {
  dims: number[];
  dataType: number;
  data: Float32Array | Int32Array | BigInt64Array;
}

/**
 * Read the initializers of an ONNX model (raw_data or float_data/int64_data), e.g. to
 * check a graph's output against a direct computation from the same weights.
 */
export function readInitializers(bytes: Uint8Array): Map<string, DecodedTensor> {
  const obj = model().toObject(model().decode(bytes), { longs: Number, bytes: Buffer }) as {
    graph?: { initializer?: Array<{ name: string; dims?: number[]; dataType: number; rawData?: Buffer; floatData?: number[]; int64Data?: number[] }> };
  };
  const out = new Map<string, DecodedTensor>();
  for (const t of obj.graph?.initializer ?? []) {
    const dims = t.dims ?? [];
    const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
    let data: DecodedTensor['data'];
    if (t.dataType === DataType.FLOAT) {
      if (raw) {
        const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        data = new Float32Array(raw.byteLength / 4);
        for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
      } else data = Float32Array.from(t.floatData ?? []);
    } else if (t.dataType === DataType.INT32) {
      if (!raw) throw new Error(`initializer ${t.name}: int32 without raw_data is not supported`);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      data = new Int32Array(raw.byteLength / 4);
      for (let i = 0; i < data.length; i++) data[i] = view.getInt32(i * 4, true);
    } else if (t.dataType === DataType.INT64) {
      if (raw) {
        const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        data = new BigInt64Array(raw.byteLength / 8);
        for (let i = 0; i < data.length; i++) data[i] = view.getBigInt64(i * 8, true);
      } else data = BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(v)));
    } else {
      throw new Error(`initializer ${t.name}: data type ${t.dataType} is not supported`);
    }
    out.set(t.name, { dims, dataType: t.dataType, data });
  }
  return out;
}
