import type { ContinueDecision } from "../pipeline";

/** A Node `ServerResponse` (Express's `res`, Fastify's `reply.raw`) as `settleNodeResponse` wraps it. */
export interface NodeResponseLike {
  readonly statusCode: number;
  getHeaders(): Readonly<Record<string, string | number | readonly string[] | undefined>>;
  write: (...args: never[]) => unknown;
  end: (...args: never[]) => unknown;
}

/**
 * Settles `decision` when the handler ends its Node response, before it is sent: when the decision
 * owes the whole response, buffers what the handler writes and commits status, headers and bytes
 * for replay; otherwise commits the status only (a 5xx refunds the credits before the client can
 * see the answer). Call it before the handler runs, when `decision.owes` is not `"nothing"`.
 * @example if (decision.owes !== "nothing") settleNodeResponse(res, decision);
 */
export function settleNodeResponse(res: NodeResponseLike, decision: ContinueDecision): void {
  const whole = decision.owes === "response";
  const chunks: Buffer[] = [];
  const target = res as unknown as { write: (...a: unknown[]) => unknown; end: (...a: unknown[]) => unknown };
  const { write: rawWrite, end: rawEnd } = target;
  const add = (chunk: unknown, encoding: unknown) => {
    if (chunk != null && typeof chunk !== "function") chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8"));
  };
  if (whole) target.write = (chunk: unknown, encoding?: unknown) => (add(chunk, encoding), true);
  target.end = (...args: unknown[]) => {
    target.write = rawWrite;
    target.end = rawEnd;
    if (!whole) {
      const send = () => void rawEnd.apply(res, args);
      decision.commit({ status: res.statusCode }).then(send, send);
      return res;
    }
    add(args[0], args[1]);
    const bytes = Buffer.concat(chunks);
    const send = () => void rawEnd.call(res, bytes);
    decision.commit({ status: res.statusCode, headers: res.getHeaders(), body: bytes.toString("utf8") }).then(send, send);
    return res;
  };
}
