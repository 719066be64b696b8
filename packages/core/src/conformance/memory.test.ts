import { MemoryBucketStore } from "../buckets";
import { MemoryCreditStore } from "../credits";
import { MemoryKeyStore } from "../credentials";
import { MemoryIdempotencyStore } from "../idempotency";
import { FakeClock } from "../testing";
import { bucketStoreConformance, creditStoreConformance, idempotencyStoreConformance, keyStoreConformance } from "./index";

bucketStoreConformance("MemoryBucketStore", () => {
  const clock = new FakeClock();
  return { store: new MemoryBucketStore({ clock }), advance: async (ms) => clock.advance(ms), fakeClock: true };
});

idempotencyStoreConformance("MemoryIdempotencyStore", () => {
  const clock = new FakeClock();
  return { store: new MemoryIdempotencyStore({ clock }), advance: async (ms) => clock.advance(ms) };
});

keyStoreConformance("MemoryKeyStore", () => ({ store: new MemoryKeyStore() }));

creditStoreConformance("MemoryCreditStore", () => {
  const clock = new FakeClock();
  return { store: new MemoryCreditStore({ clock }), now: () => clock.now() };
});
