/**
 * Checks recorded exchanges against an OpenAPI 3.1 document: for every request that names an
 * operation of the document (its method and path template), the response's status must be one
 * the operation declares, its media type and body must match the declared schema (no body where
 * none is declared), and every declared header must be present where required and match its
 * schema where present; a problem's body names its code, and the headers that code must carry
 * (or must not) by its schema's `x-alloovium-headers` are checked too (`Retry-After` on a 429
 * `rate_limited`, the bearer challenge on a 400 from authentication). Requests that name no operation (unknown paths, /healthz, HEAD) are
 * outside the document and counted apart.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Exchange } from "../conformance/support/http";

// ajv-formats is CommonJS: its default export may arrive as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

interface Operation {
  readonly id: string;
  readonly method: string;
  readonly pointer: string;
  readonly pattern: RegExp;
  readonly responses: Record<string, Json>;
}

/** What `check` found. */
export interface ValidationReport {
  /** One line per mismatch: the operation, the request, what is wrong. */
  readonly failures: string[];
  /** Exchanges checked against an operation. */
  readonly checked: number;
  /** Exchanges that named no operation of the document. */
  readonly outside: number;
  /** Status codes seen per operation id. */
  readonly seen: Map<string, Set<number>>;
}

const escapePointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

/** A validator of responses against `document`. */
export function createResponseValidator(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addSchema(document, "openapi.json");
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string) => {
    let v = compiled.get(pointer);
    if (!v) compiled.set(pointer, (v = ajv.compile({ $ref: `openapi.json#${pointer}` })));
    return v;
  };

  const problems = ((document["components"] as Json | undefined)?.["schemas"] ?? {}) as Record<string, Json>;
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document["paths"] as Record<string, Json>)) {
    const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`);
    for (const [method, op] of Object.entries(item)) {
      const o = op as Json;
      operations.push({ id: o["operationId"] as string, method: method.toUpperCase(), pointer: `/paths/${escapePointer(path)}/${method}`, pattern, responses: o["responses"] as Record<string, Json> });
    }
  }

  function check(exchanges: readonly Exchange[]): ValidationReport {
    const failures: string[] = [];
    const seen = new Map<string, Set<number>>();
    let checked = 0;
    let outside = 0;
    for (const { request, response } of exchanges) {
      const method = request.method ?? "GET";
      const path = request.path.split("?")[0] as string;
      const op = operations.find((o) => o.method === method && o.pattern.test(path));
      if (!op) {
        outside++;
        continue;
      }
      checked++;
      let statuses = seen.get(op.id);
      if (!statuses) seen.set(op.id, (statuses = new Set()));
      statuses.add(response.status);
      const where = `${op.id} ${method} ${request.path.slice(0, 120)} -> ${response.status}`;
      const declared = op.responses[String(response.status)];
      if (!declared) {
        failures.push(`${where}: status not in the document (body ${response.text.slice(0, 200)})`);
        continue;
      }
      const statusPointer = `${op.pointer}/responses/${response.status}`;
      const content = declared["content"] as Record<string, Json> | undefined;
      if (!content) {
        if (response.text !== "") failures.push(`${where}: a body where the document declares none`);
      } else {
        const media = response.mediaType ?? "(none)";
        if (!(media in content)) failures.push(`${where}: media type ${media}, the document has ${Object.keys(content).join(", ")}`);
        else if (response.body === undefined) failures.push(`${where}: the body is not JSON`);
        else {
          const validate = validatorAt(`${statusPointer}/content/${escapePointer(media)}/schema`);
          if (!validate(response.body)) failures.push(`${where}: body ${ajv.errorsText(validate.errors)} in ${response.text.slice(0, 300)}`);
        }
      }
      const code = response.body !== null && typeof response.body === "object" ? (response.body as Json)["code"] : undefined;
      if (typeof code === "string" && response.mediaType === "application/problem+json") {
        const problem = problems[`Problem_${code}`];
        for (const [name, rule] of Object.entries((problem?.["x-alloovium-headers"] as Record<string, string> | undefined) ?? {})) {
          const present = response.headers[name.toLowerCase()] !== undefined;
          if (rule === "required" && !present) failures.push(`${where}: ${code} requires header ${name}, missing`);
          if (rule === "absent" && present) failures.push(`${where}: ${code} must not carry header ${name}`);
        }
      }
      for (const [name, header] of Object.entries((declared["headers"] as Record<string, Json> | undefined) ?? {})) {
        const value = response.headers[name.toLowerCase()];
        if (value === undefined) {
          if (header["required"] === true) failures.push(`${where}: required header ${name} missing`);
          continue;
        }
        if (!header["schema"]) continue;
        const validate = validatorAt(`${statusPointer}/headers/${escapePointer(name)}/schema`);
        if (!validate(value)) failures.push(`${where}: header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors)}`);
      }
    }
    return { failures, checked, outside, seen };
  }

  return { check, operationIds: () => operations.map((o) => o.id) };
}
