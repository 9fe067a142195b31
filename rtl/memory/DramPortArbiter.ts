import { ConfigError, Module, type Reg } from '../../src/sim/index.ts';
import { copyLine, fillLine, lineWords } from '../cxl/LineWords.ts';
import { copyDramReq, copyDramRsp, DramOp, dramReqChannel, dramRspChannel, type DramReqChannel, type DramRspChannel } from './DramMsg.ts';

export interface DramPortArbiterParams {
  /** Requester ports (≥ 2): e.g. 0 = the node's CPU, 1 = the remote memory controller, 2 = the request decoder. */
  readonly ports: number;
  /** Depth of each port's `req<i>` channel. */
  readonly portDepth: number;
  /** Depth of each port's `rsp<i>` channel. */
  readonly rspDepth: number;
}

export const DRAM_ARBITER_DEFAULTS: DramPortArbiterParams = { ports: 3, portDepth: 2, rspDepth: 4 };

/** DramOp.Read (DramMsg.ts) as a `const enum` member, a literal in the per-request code (an enum object is loaded and type-checked at each use under V8); checked at load. */
const enum Op { Read = 0 }
if (DramOp.Read !== Op.Read) throw new Error('DramPortArbiter: Op.Read disagrees with DramOp.Read');

/** The two channels of one requester's DRAM port, as the requester sees them. */
export interface DramPort {
  /** The requester pushes here (owned by the arbiter). */
  readonly req: DramReqChannel;
  /** The requester pops its responses here (owned by the arbiter). */
  readonly rsp: DramRspChannel;
}

/**
 * Shares one DRAM between N requesters. Requests: round-robin, one per cycle, starting after the
 * port served last, so every port with a waiting request is served within N grants (no port can
 * starve another). Responses: routed back by id. The arbiter tags each request it forwards with
 * id' = id × N + port (exact while id × N < 2^53) and undoes that on the way back, so the DRAM
 * sees distinct ids and needs no table here.
 *
 * Responses leave the DRAM in one FIFO: if the port at its head has no room, the others wait
 * behind it (head-of-line blocking, as a single response bus would). A requester that keeps its
 * rsp channel drained (all modules here do) never blocks another.
 *
 * Latency: one cycle per registered channel, so the arbiter adds one cycle on the way in
 * (req<i> → DRAM req) and one on the way out (DRAM rsp → rsp<i>).
 */
export class DramPortArbiter extends Module {
  readonly ports: readonly DramPort[];
  readonly params: DramPortArbiterParams;
  private readonly reqs: DramReqChannel[];
  private readonly rsps: DramRspChannel[];
  /** Line slabs of the port channels and of the DRAM's, as words: lines move 4 bytes a step. */
  private readonly reqWords: Uint32Array[];
  private readonly rspWords: Uint32Array[];
  private readonly downReqWords: Uint32Array;
  private readonly downRspWords: Uint32Array;
  /** The Dram's channels (held directly: one load less per use than through a DramPort). */
  private readonly downReq: DramReqChannel;
  private readonly downRsp: DramRspChannel;
  /** Port to try first on the next grant. */
  private readonly rrNext: Reg;
  /** Requests forwarded per port (fairness stats). */
  readonly granted: Float64Array;
  /** Cycles a response waited because its port's rsp channel was full. */
  rspStalls = 0;

  constructor(
    parent: Module,
    name: string,
    params: DramPortArbiterParams,
    down: DramPort,
  ) {
    super(parent, name);
    this.downReq = down.req;
    this.downRsp = down.rsp;
    if (!(Number.isInteger(params.ports) && params.ports >= 2)) throw new ConfigError(`${this.path}.ports`, `must be an integer ≥ 2, got ${params.ports}`);
    for (const f of ['portDepth', 'rspDepth'] as const) {
      if (!(Number.isInteger(params[f]) && params[f] >= 1)) throw new ConfigError(`${this.path}.${f}`, `must be an integer ≥ 1, got ${params[f]}`);
    }
    this.params = params;
    this.reqs = [];
    this.rsps = [];
    const ports: DramPort[] = [];
    for (let i = 0; i < params.ports; i++) {
      const req = dramReqChannel(this, `req${i}`, params.portDepth);
      const rsp = dramRspChannel(this, `rsp${i}`, params.rspDepth);
      this.reqs.push(req);
      this.rsps.push(rsp);
      ports.push({ req, rsp });
    }
    this.ports = ports;
    this.reqWords = this.reqs.map((c) => lineWords(c.bytes));
    this.rspWords = this.rsps.map((c) => lineWords(c.bytes));
    this.downReqWords = lineWords(down.req.bytes);
    this.downRspWords = lineWords(down.rsp.bytes);
    this.rrNext = this.reg('rrNext', Math.max(1, Math.ceil(Math.log2(params.ports))), 0);
    this.granted = new Float64Array(params.ports);
  }

  port(i: number): DramPort {
    const p = this.ports[i];
    if (!p) throw new RangeError(`${this.path}: no port ${i} (ports 0..${this.ports.length - 1})`);
    return p;
  }

  override onReset(): void {
    this.granted.fill(0);
    this.rspStalls = 0;
  }

  override evaluate(): void {
    // Each half only when it has something to do (most cycles neither has): the checks are the
    // ones each would start with, so this is the full path in every cycle, not a shortcut. The
    // port scan is repeated here, in index order, so that a quiet cycle calls nothing (a call of
    // a cold function costs more than the scan).
    if (this.downReq.canPush()) {
      const reqs = this.reqs;
      for (let p = 0; p < reqs.length; p++) {
        if (reqs[p]!.valid()) {
          this.grant();
          break;
        }
      }
    }
    if (this.downRsp.valid()) this.route();
  }

  /** Requests: one grant per cycle, round robin from rrNext. */
  private grant(): void {
    const reqs = this.reqs;
    const n = reqs.length;
    // Port indices wrap by compare-and-subtract: rrNext is always < n, and a `%` on a register
    // value (a double) is a library call.
    let p = this.rrNext.q;
    for (let k = 0; k < n; k++, p = p + 1 < n ? p + 1 : 0) {
      const up = reqs[p]!;
      if (!up.valid()) continue;
      const s = up.pop();
      const id = up.col.id[s]!;
      const downId = id * n + p;
      if (!(Number.isInteger(id) && id >= 0 && downId <= Number.MAX_SAFE_INTEGER)) this.fail(`port ${p}: request id ${id} must be an integer ≥ 0 with id × ${n} < 2^53`);
      const down = this.downReq;
      const d = down.push();
      // Every field, then the DRAM-side id in place of the requester's.
      copyDramReq(up.col, s, down.col, d);
      down.col.id[d] = downId;
      // A read's line is don't-care (the Dram reads a request's line only for a write).
      if (up.col.op[s] !== Op.Read) copyLine(this.reqWords[p]!, s, this.downReqWords, d);
      this.granted[p]++;
      this.rrNext.d = p + 1 < n ? p + 1 : 0;
      return;
    }
  }

  /** Responses: in DRAM completion order, each to the port it came from. */
  private route(): void {
    const rsp = this.downRsp;
    const n = this.rsps.length;
    while (rsp.valid()) {
      const s = rsp.peek(0);
      const downId = rsp.col.id[s]!;
      // Integer `%` when the id fits 31 bits (every id in practice); the double `%` is a library call.
      const p = downId <= 0x7fffffff ? (downId | 0) % n : downId % n;
      const up = this.rsps[p]!;
      if (!up.canPush()) {
        this.rspStalls++;
        up.stall();
        return;
      }
      rsp.pop();
      const u = up.push();
      // Every field, then the requester's id back in place of the DRAM-side one.
      copyDramRsp(rsp.col, s, up.col, u);
      up.col.id[u] = (downId - p) / n;
      // A write's answer carries a line of zeros (the Dram's): write the zeros instead of copying them.
      if (rsp.col.op[s] === Op.Read) copyLine(this.downRspWords, s, this.rspWords[p]!, u);
      else fillLine(this.rspWords[p]!, u, 0x00);
    }
  }
}
