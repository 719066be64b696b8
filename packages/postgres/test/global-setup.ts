import { databaseUrl, stopSharedServer } from "./pg-server";

/** Finds the run's PostgreSQL once (starting a throwaway one if needed) and hands its URL to the test files. */
export async function setup({ provide }: { provide: (key: "databaseUrl", value: string) => void }): Promise<void> {
  provide("databaseUrl", await databaseUrl());
}

export function teardown(): void {
  stopSharedServer();
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
