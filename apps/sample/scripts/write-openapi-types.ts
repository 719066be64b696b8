/** Regenerates test/openapi/api.d.ts (the typed client's types) from the sample's document. */
import { writeFileSync } from "node:fs";
import { API_TYPES_FILE, generateApiTypes } from "../test/openapi/client-types";

writeFileSync(API_TYPES_FILE, await generateApiTypes());
