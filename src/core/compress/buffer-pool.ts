/**
 * Reused ArrayBuffers for the pieces and chunks pack hands to its compression workers. A
 * fresh buffer per piece is freed only when JavaScriptCore next collects, which on a busy
 * thread comes late: that garbage, not the data in flight, made most of pack's peak memory
 * (docs/bench/memory.md). Buffers go to a worker and come back with its answer; the pool
 * keeps a few and frees the rest at once (ArrayBuffer.prototype.transfer(0) releases the
 * memory without waiting for a collection).
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    /** Capacities are rounded up to this, so returned buffers fit later requests. */
    private readonly unit: number,
    /** Idle buffers kept; more are freed. */
    private readonly keep: number,
  ) {}

  /** A buffer of at least `min` bytes, reused if one is idle (its old contents remain). */
  take(min: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = (this.free[i] as ArrayBuffer).byteLength;
      if (len >= min && (best < 0 || len < (this.free[best] as ArrayBuffer).byteLength)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0] as ArrayBuffer;
    return new ArrayBuffer(Math.ceil(Math.max(min, 1) / this.unit) * this.unit);
  }

  /** Back into the pool; beyond `keep` idle buffers the smallest is freed. */
  give(buf: ArrayBuffer): void {
    if (buf.byteLength === 0) return; // detached: transferred elsewhere or already freed
    this.free.push(buf);
    if (this.free.length <= this.keep) return;
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) if ((this.free[i] as ArrayBuffer).byteLength < (this.free[smallest] as ArrayBuffer).byteLength) smallest = i;
    release(this.free.splice(smallest, 1)[0] as ArrayBuffer);
  }

  /** Free every idle buffer now. */
  clear(): void {
    for (const b of this.free.splice(0)) release(b);
  }
}

/** Give a buffer's memory back now instead of at the next garbage collection. */
export function release(buf: ArrayBufferLike): void {
  if (buf instanceof ArrayBuffer && buf.byteLength > 0 && !buf.detached) buf.transfer(0);
}
