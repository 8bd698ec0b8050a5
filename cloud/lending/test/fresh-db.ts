/** Lending tests use the shared helper; it pins Kysely's migration tables to each test's schema. */
export { freshDb } from "../../../test/helpers/services.ts";
