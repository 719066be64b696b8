import { MemoryKeyStore, createKeyHasher, createPolicy, defineCapabilities, defineCapability, type Principal as Caller } from "@alloovium/core";
import { AllooviumModule, Capability, Principal } from "@alloovium/nestjs";
import { Controller, Module } from "@nestjs/common";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
export const keyStore = new MemoryKeyStore(); // or @alloovium/redis
export const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: process.env["KEY_PEPPER"] ?? "dev-only-pepper-0123" }] });
const policy = createPolicy({ environment: "live", keyHasher, stores: { keys: keyStore } });

@Controller()
export class MeController {
  @Capability(whoami) me(@Principal() principal: Caller) { return principal; } // GET /api/v2/me, behind the policy
}

@Module({ imports: [AllooviumModule.forRoot({ policy, capabilities: defineCapabilities([whoami]) })], controllers: [MeController] })
export class AppModule {} // your root module: NestFactory.create(AppModule, { bodyParser: false })
