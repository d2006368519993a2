// The little of the WebAssembly API the kernels use. The project's lib is ES2022 without DOM,
// and @types/node declares only part of the WebAssembly namespace, so it is typed here.

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Compiles a kernel's base64 bytes; `what` names it in the error when SIMD is missing. */
export function compileKernel(base64: string, what: string): object {
  try {
    return new wasm.Module(Buffer.from(base64, 'base64'));
  } catch (e) {
    throw new Error(`${what} needs WebAssembly SIMD, which this runtime lacks: ${(e as Error).message}`);
  }
}

export function instantiate(module: object): { exports: Record<string, unknown> } {
  return new wasm.Instance(module, {});
}

/** Grows `memory` to at least `bytes`. */
export function ensureMemory(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
}

export const align16 = (n: number): number => (n + 15) & ~15;
