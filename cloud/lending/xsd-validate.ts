import { readFileSync } from "node:fs";
import { validateXML } from "xmllint-wasm";
import { fromRoot } from "../../core/paths.ts";

/** The ISO 20022 pain.001.001.03 schema, shipped with the product (cloud/lending/xsd/). */
export const PAIN001_XSD = fromRoot("cloud/lending/xsd/pain.001.001.03.xsd");
let schema: string | null = null;

/**
 * Validates a payment file against the pain.001.001.03 XSD with libxml2 (xmllint compiled to
 * WebAssembly: no system package needed, runs in a worker thread). Returns the errors, empty when
 * the file is valid.
 */
export async function validatePain001(xml: string): Promise<string[]> {
  schema ??= readFileSync(PAIN001_XSD, "utf8");
  const r = await validateXML({
    xml: [{ fileName: "payment.xml", contents: xml }],
    schema: [{ fileName: "pain.001.001.03.xsd", contents: schema }],
  });
  if (r.valid) return [];
  const errs = r.errors.map((e) => e.message.trim()).filter((m) => m.length > 0);
  return errs.length > 0 ? errs : [r.rawOutput.trim() || "the file does not validate"];
}
