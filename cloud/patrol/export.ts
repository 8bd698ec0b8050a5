import PDFDocument from "pdfkit";
import type { RoundReport } from "./report.ts";

const cell = (v: unknown) => {
  const s = v === undefined || v === null ? "" : String(v);
  // RFC 4180 quoting; a leading = + - @ is prefixed so a spreadsheet does not run it as a formula.
  const safe = /^[=+\-@]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** One row per check (and one per missed checkpoint) of a round: what a spreadsheet or an auditor wants. */
export function roundCsv(r: RoundReport): string {
  const rows: unknown[][] = [
    [
      "device",
      "round",
      "plan",
      "checkpoint",
      "status",
      "check",
      "type",
      "expected",
      "seen",
      "ok",
      "note",
      "frame_sha256",
      "arrived_at",
    ],
  ];
  for (const c of r.checkpoints) {
    const base = [r.device, r.round, r.plan, c.checkpoint, c.status];
    if (!c.checks) {
      rows.push([...base, "", "", "", "", "", c.reason ?? "", "", ""]);
      continue;
    }
    for (const k of c.checks)
      rows.push([
        ...base,
        k.id,
        k.type,
        k.expected,
        k.seen,
        k.ok === null ? "not checked" : k.ok ? "yes" : "no",
        k.skipped ?? "",
        k.frameSha256 ?? "",
        new Date(c.arrivedAt!).toISOString(),
      ]);
  }
  return `${rows.map((row) => row.map(cell).join(",")).join("\r\n")}\r\n`;
}

/** The round as a PDF (pdfkit's standard fonts: WinAnsi text only, so no arrows or check marks): summary, findings with the frames they were seen in, then every checkpoint's checks. */
export function roundPdf(r: RoundReport, frames: Map<string, Buffer>): Promise<Buffer> {
  const doc = new PDFDocument({
    size: "A4",
    margin: 48,
    info: { Title: `Patrol round ${r.round} — ${r.device}` },
  });
  const chunks: Buffer[] = [];
  doc.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on("end", () => resolve(Buffer.concat(chunks))));
  const iso = (t: number | null) =>
    t === null ? "not docked yet" : new Date(t).toISOString().replace(".000Z", "Z");
  doc.fontSize(18).text(`Patrol inspection report — ${r.device}`);
  doc.moveDown(0.3).fontSize(10).fillColor("#444");
  doc.text(
    `Round ${r.round} · plan ${r.plan} · ${iso(r.startedAt)} to ${iso(r.endedAt)}${r.complete ? "" : " (incomplete)"}`,
  );
  doc.text(
    `${r.counts.inspected}/${r.counts.planned} checkpoints inspected · ${r.counts.violations} violation(s) · ${r.counts.missed} missed · ${r.counts.notChecked} check(s) not run`,
  );
  doc.fillColor("#000").moveDown();
  doc.fontSize(13).text("Findings");
  doc.fontSize(10);
  if (r.findings.length === 0)
    doc.text("None: every planned checkpoint was inspected and every check passed.");
  for (const f of r.findings) {
    const line =
      f.type === "violation"
        ? `${f.checkpoint} · ${f.check}: expected ${f.expected}, seen ${f.seen}`
        : `${f.checkpoint}: missed (${f.reason})`;
    doc.fillColor("#b00020").text(`• ${line}`, { continued: false }).fillColor("#000");
    if (f.review)
      doc.text(
        `   reviewed by ${f.review.by}: ${f.review.verdict}${f.review.note ? ` — ${f.review.note}` : ""}`,
      );
    const img = f.frameSha256 ? frames.get(f.frameSha256) : undefined;
    if (img) {
      doc.image(img, { fit: [240, 180] });
      doc.fontSize(7).fillColor("#666").text(`frame sha256 ${f.frameSha256}`).fontSize(10).fillColor("#000");
    }
    doc.moveDown(0.4);
  }
  doc.moveDown().fontSize(13).text("Checkpoints");
  doc.fontSize(9);
  for (const c of r.checkpoints) {
    doc
      .moveDown(0.3)
      .font("Helvetica-Bold")
      .text(`${c.checkpoint} — ${c.status}${c.reason ? ` (${c.reason})` : ""}`)
      .font("Helvetica");
    if (c.readings)
      doc.text(
        Object.entries(c.readings)
          .map(([k, v]) => `${k} ${v}`)
          .join(" · "),
      );
    for (const k of c.checks ?? [])
      doc.text(
        `   ${k.ok === null ? "[not run]" : k.ok ? "[ok]" : "[FAIL]"} ${k.id} (${k.type}): expected ${k.expected || "-"}, seen ${k.seen || "-"}${k.skipped ? ` — not checked: ${k.skipped}` : ""}`,
      );
  }
  doc.end();
  return done;
}
