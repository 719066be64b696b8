import { ProblemError, createHttpGate, incomingFromNode, settleNodeResponse, type Capability as CapabilityDef, type ContinueDecision, type HttpGate, type HttpGateOptions, type IncomingRequest, type NodeRequestLike, type NodeResponseLike, type Principal as PrincipalRecord, type WireResponse } from "@alloovium/core";
import {
  Catch,
  HttpException,
  Inject,
  Injectable,
  Module,
  RequestMapping,
  RequestMethod,
  SetMetadata,
  applyDecorators,
  createParamDecorator,
  type ArgumentsHost,
  type CanActivate,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type OnModuleInit,
} from "@nestjs/common";
import { APP_FILTER, APP_GUARD, HttpAdapterHost, Reflector } from "@nestjs/core";

/** Options of `AllooviumModule.forRoot`: the gate's (policy, body cap, capabilities for 404/405). */
export type AllooviumOptions = HttpGateOptions;

/** What `AllooviumModule` provides under `ALLOOVIUM`: the gate every guard, interceptor and filter shares. */
export interface Alloovium {
  readonly gate: HttpGate;
  readonly bodyLimitBytes: number;
}

/** The injection token of the module's `Alloovium`. */
export const ALLOOVIUM = Symbol("alloovium");
const CAPABILITY = "alloovium:capability";
const DECISION = Symbol("alloovium.decision");
const SEEN = Symbol("alloovium.seen");
const GATE = Symbol("alloovium.gate");

type FastifyLike = { [GATE]?: HttpGate; removeAllContentTypeParsers?(): void; addContentTypeParser(type: string, o: object, p: (r: unknown, b: Buffer, done: (e: null, b: Buffer) => void) => void): void };

/**
 * For Nest on Fastify, `new FastifyAdapter({ frameworkErrors: allooviumFrameworkErrors })`: a path
 * that does not decode (`FST_ERR_BAD_URL`) is 404 `not_found` after the screen, as on every
 * adapter, not Fastify's own 400.
 */
export function allooviumFrameworkErrors(error: Error & { code?: string }, request: unknown, reply: unknown): void {
  const gate = (request as { server?: FastifyLike }).server?.[GATE];
  const res = reply as Res;
  if (!gate) return write(res, { status: 404, headers: {}, body: "" }); // AllooviumModule is not imported
  const known = error.code === "FST_ERR_BAD_URL" || error.code === "FST_ERR_MAX_PARAM_LENGTH";
  if (!known) return write(res, gate.fail(error));
  gate.unmatched(incomingOf(request as Req)).then((r) => write(res, r), (e: unknown) => write(res, gate.fail(e)));
}

/**
 * The route of one capability, with its policy: `@Capability(createProject)` on a controller
 * method maps `POST /api/v2/vault/projects` (the capability's method and path) and runs the policy before it.
 */
export const Capability = (capability: CapabilityDef): MethodDecorator =>
  applyDecorators(SetMetadata(CAPABILITY, capability), RequestMapping({ path: capability.routePath, method: RequestMethod[capability.method as keyof typeof RequestMethod] }));

/** The caller behind the credential, on a `@Capability` route: `whoami(@Principal() principal: Principal)`. */
export const Principal = createParamDecorator((_data: unknown, ctx: ExecutionContext): PrincipalRecord => ctx.switchToHttp().getRequest<Req>().principal!);

/** The request on either platform: Express's (a Node request) or Fastify's (`raw`, its parser's bytes in `body`). */
type Req = Record<symbol, unknown> & { raw?: NodeRequestLike & { url?: string }; originalUrl?: string; url?: string; method: string; body?: unknown; is404?: boolean; principal?: PrincipalRecord; policyRequest?: unknown; input?: unknown };
/** The response on either platform: Express's (a Node response) or Fastify's reply (`raw`). */
type Res = { raw?: NodeResponse; code?: (status: number) => { headers(h: object): { send(b: Buffer): unknown } } } & NodeResponse;
type NodeResponse = NodeResponseLike & { statusCode: number; setHeader(n: string, v: string): unknown };

const nodeOf = (req: Req) => (req.raw ?? req) as NodeRequestLike & { url?: string };
/** The bytes Fastify's parser took, what Express's body parser left (when `bodyParser` was not turned off), or the stream. */
function incomingOf(req: Req, bodyOverLimit = false): IncomingRequest {
  const at = { method: req.method, url: req.originalUrl ?? nodeOf(req).url ?? "/", bodyOverLimit };
  if (req.body instanceof Uint8Array) return incomingFromNode(nodeOf(req), { ...at, bodyBytes: req.body });
  return incomingFromNode(nodeOf(req), req.raw || req.body === undefined ? at : { ...at, parsedBody: req.body });
}

function write(res: Res, r: WireResponse): void {
  if (res.raw && res.code) return void res.code(r.status).headers(r.headers).send(Buffer.from(r.body)); // a Fastify reply
  res.statusCode = r.status;
  for (const name in r.headers) res.setHeader(name, r.headers[name] as string);
  res.end(r.body as never);
}

/**
 * The guard's own answer (a refusal, a replay, a screen's 400/413): written here, never thrown, so
 * that no filter of the app (a global catch-all) can rewrite it. Nest then waits on a promise that
 * never settles, one per request (nothing holds it once the response is sent), and runs nothing else.
 */
function answer(res: Res, response: WireResponse): Promise<never> {
  write(res, response);
  return new Promise<never>(() => {});
}

/** Authenticates and admits: the policy on a `@Capability` route, the credential screen on any other. */
export class AllooviumGuard implements CanActivate {
  constructor(
    private readonly a: Alloovium,
    private readonly reflector: Reflector,
  ) {}
  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== "http") return true;
    const req = ctx.switchToHttp().getRequest<Req>();
    const res = ctx.switchToHttp().getResponse<Res>();
    req[SEEN] = true;
    const capability = this.reflector.get<CapabilityDef | undefined>(CAPABILITY, ctx.getHandler());
    if (!capability) {
      const screened = await this.a.gate.screen(incomingOf(req));
      if (screened.kind === "respond") return answer(res, screened.response);
      req.policyRequest = screened.request;
      req.body = screened.request.body;
      return true;
    }
    const result = await this.a.gate.enter(incomingOf(req), capability);
    if (result.kind === "respond") return answer(res, result.response);
    const { decision, request } = result;
    req.policyRequest = request;
    req.body = request.body;
    req.principal = decision.principal;
    req.input = result.input;
    for (const name in decision.headers) (res.raw ?? res).setHeader(name, decision.headers[name] as string); // on Fastify, merged into its writeHead
    req[DECISION] = decision;
    // Settled when the response ends, whoever writes it (the handler, a later guard's exception
    // through any filter): the response for replay, or the status for the credits.
    if (decision.owes !== "nothing") settleNodeResponse(res.raw ?? res, decision);
    return true;
  }
}

/** Nest's own HTTP exceptions with a code of the contract, answered as those problems. */
const CODES: Record<number, "not_found" | "method_not_allowed" | "payload_too_large" | "unsupported_media_type"> = { 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type" };

/** Writes problems: the guard's answers, thrown errors (settling the decision), Nest's 404 and the platform's body errors. */
export class AllooviumExceptionFilter implements ExceptionFilter {
  constructor(private readonly a: Alloovium) {}
  async catch(error: unknown, host: ArgumentsHost): Promise<void> {
    const req = host.switchToHttp().getRequest<Req>();
    const res = host.switchToHttp().getResponse<Res>();
    const decision = req[DECISION] as ContinueDecision | undefined;
    const status = error instanceof HttpException ? error.getStatus() : 0;
    // Another HttpException is the handler's own answer, as Nest writes it; settled (stored, or refunded on a 5xx) as any response.
    const own = error instanceof HttpException && !CODES[status] ? nestAnswer(error) : undefined;
    const thrown = CODES[status] ? new ProblemError(CODES[status], error instanceof Error ? error.message : "") : error;
    if (decision && own) return write(res, own); // settled as it ends, as any response
    if (decision) return write(res, await decision.abort(thrown));
    const { gate } = this.a;
    // No route took it (Nest's NotFoundException), or its path does not decode (Express's URIError): 404/405 after the screen.
    if ((status === 404 && !req[SEEN]) || !decodes((req.originalUrl ?? nodeOf(req).url ?? "/").split("?")[0]!)) return write(res, await gate.unmatched(incomingOf(req)));
    // Fastify's parser stopped at the cap, or never ran (a Content-Type it cannot read): the gate judges as it would have.
    if (!req[SEEN] && (status === 413 || status === 415)) {
      const screened = await gate.screen(incomingOf(req, status === 413));
      return write(res, screened.kind === "respond" ? screened.response : gate.fail(new ProblemError("unsupported_media_type", "Send the body as JSON with Content-Type: application/json.")));
    }
    write(res, own ?? gate.fail(thrown));
  }
}

/** An HttpException as Nest's own filter answers it: its status, its response object (or `{ statusCode, message }`) as JSON. */
function nestAnswer(error: HttpException): WireResponse {
  const body = error.getResponse();
  const json = typeof body === "string" ? { statusCode: error.getStatus(), message: body } : body;
  return { status: error.getStatus(), headers: { "content-type": "application/json" }, body: JSON.stringify(json) };
}

function decodes(path: string): boolean {
  try {
    return decodeURIComponent(path) !== undefined;
  } catch {
    return false;
  }
}

/**
 * The policy for a Nest 11 app on Express or Fastify: `AllooviumModule.forRoot({ policy, capabilities })`
 * in the root module's imports registers the guard, the interceptor and the exception filter app-wide.
 * @example
 * `@Module({ imports: [AllooviumModule.forRoot({ policy, capabilities })], controllers: [MeController] })`
 */
export class AllooviumModule implements OnModuleInit {
  constructor(
    private readonly a: Alloovium,
    private readonly host: HttpAdapterHost,
  ) {}

  static forRoot(options: AllooviumOptions): DynamicModule {
    const alloovium: Alloovium = { gate: createHttpGate(options), bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576 };
    return {
      module: AllooviumModule,
      global: true,
      providers: [
        { provide: ALLOOVIUM, useValue: alloovium },
        { provide: APP_GUARD, useClass: AllooviumGuard },
        { provide: APP_FILTER, useClass: AllooviumExceptionFilter },
      ],
      exports: [ALLOOVIUM],
    };
  }

  /** On Fastify, one parser for every media type reads the body once as bytes, capped (`bodyLimit`): the gate judges them. */
  onModuleInit(): void {
    const fastify = this.host.httpAdapter?.getInstance() as FastifyLike | undefined;
    if (typeof fastify?.removeAllContentTypeParsers !== "function") return;
    fastify[GATE] = this.a.gate; // for allooviumFrameworkErrors
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: this.a.bodyLimitBytes }, (_request, body, done) => done(null, body));
  }
}

// Decorated by calls, not `@` syntax, with explicit tokens: the classes need neither
// `experimentalDecorators` nor decorator metadata from whatever compiles this file (tsx, esbuild, vitest).
Injectable()(AllooviumGuard);
Inject(ALLOOVIUM)(AllooviumGuard, undefined, 0);
Inject(Reflector)(AllooviumGuard, undefined, 1);
Catch()(AllooviumExceptionFilter);
Inject(ALLOOVIUM)(AllooviumExceptionFilter, undefined, 0);
Module({})(AllooviumModule);
Inject(ALLOOVIUM)(AllooviumModule, undefined, 0);
Inject(HttpAdapterHost)(AllooviumModule, undefined, 1);
