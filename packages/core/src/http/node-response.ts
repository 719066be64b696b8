import type { ContinueDecision } from "../pipeline";

/** A Node `ServerResponse` (Express's `res`, Fastify's `reply.raw`) as `settleNodeResponse` wraps it. */
export interface NodeResponseLike {
  readonly statusCode: number;
  getHeaders(): Readonly<Record<string, string | number | readonly string[] | undefined>>;
  write: (...args: never[]) => unknown;
  end: (...args: never[]) => unknown;
  /** `close` (a Node response has it): a response that closes before it ends is settled then. */
  once?: (event: "close", listener: () => void) => unknown;
}

type Callback = (error?: Error | null) => void;

/** The callback of `write(chunk, encoding?, cb?)` / `end(chunk?, encoding?, cb?)`: the last function argument. */
const callbackOf = (args: readonly unknown[]): Callback | undefined => args.findLast((a): a is Callback => typeof a === "function");

/**
 * Settles `decision` when the handler ends its Node response, before it is sent: when the decision
 * owes the whole response, buffers what the handler writes and commits status, headers and bytes
 * for replay; otherwise commits the status only (a 5xx refunds the credits before the client can
 * see the answer). The callbacks of `write` and `end` are kept. A response that closes before it
 * ends (the client gone) is settled by its status then, with nothing stored: the idempotency key
 * is given back. Call it before the handler runs, when `decision.owes` is not `"nothing"`.
 * @example if (decision.owes !== "nothing") settleNodeResponse(res, decision);
 */
export function settleNodeResponse(res: NodeResponseLike, decision: ContinueDecision): void {
  const whole = decision.owes === "response";
  const chunks: Buffer[] = [];
  const target = res as unknown as { write: (...a: unknown[]) => unknown; end: (...a: unknown[]) => unknown };
  const { write: rawWrite, end: rawEnd } = target;
  let ended = false;
  const add = (chunk: unknown, encoding: unknown) => {
    if (chunk != null && typeof chunk !== "function") chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8"));
  };
  if (whole) {
    target.write = (chunk: unknown, ...rest: unknown[]) => {
      add(chunk, rest[0]);
      const cb = callbackOf(rest);
      if (cb) queueMicrotask(() => cb()); // taken (buffered): a handler awaiting it goes on
      return true;
    };
  }
  target.end = (...args: unknown[]) => {
    ended = true;
    target.write = rawWrite;
    target.end = rawEnd;
    if (!whole) {
      const send = () => void rawEnd.apply(res, args);
      decision.commit({ status: res.statusCode }).then(send, send);
      return res;
    }
    if (typeof args[0] !== "function") add(args[0], args[1]);
    const bytes = Buffer.concat(chunks);
    const cb = callbackOf(args);
    const send = () => void (cb ? rawEnd.call(res, bytes, cb) : rawEnd.call(res, bytes));
    decision.commit({ status: res.statusCode, headers: res.getHeaders(), body: bytes.toString("utf8") }).then(send, send);
    return res;
  };
  // A client that leaves mid-response settles nothing here: the handler may still be running, so
  // the key stays in flight (409 to a retry) until the handler ends the response (stored or
  // refunded as usual) or, if it never does, until the idempotency lease runs out.
}
