import { yuan } from "./interest.ts";

/** One credit transfer: a payment order to a feed supplier. */
export interface CreditTransfer {
  endToEndId: string;
  instrId: string;
  amountFen: number;
  currency: string;
  creditorName: string;
  creditorAccount: string;
  creditorBic: string | null;
  /** CNAPS bank code, for a creditor bank without a BIC (ClrSysMmbId, clearing system "CNAPS"). */
  creditorCnaps?: string | null;
  remittance: string;
}

/** One payment instruction: the debtor (lender's account for a facility) and its transfers. */
export interface PaymentInstruction {
  id: string;
  debtorName: string;
  debtorAccount: string;
  debtorBic: string | null;
  currency: string;
  executionDate: string;
  transfers: CreditTransfer[];
}

// XML 1.0 (§2.2 Char) forbids most C0 controls, and banks refuse the rest in text fields: dropped.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const esc = (s: string) =>
  s
    .replace(CONTROL, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
/**
 * ISO 20022 MaxNText lengths count characters (XML code points), so cut by code point: a UTF-16
 * slice would split an emoji's surrogate pair into an invalid document.
 */
export const cutCodePoints = (s: string, n: number) =>
  Array.from(s.replace(CONTROL, "")).slice(0, n).join("");
const max = (s: string, n: number) => esc(cutCodePoints(s, n));

/**
 * FinancialInstitutionIdentification7: the BIC when known, else the CNAPS bank code as a clearing
 * system member (ExternalClearingSystemIdentification1Code "CNAPS"), else the "NOTPROVIDED" convention.
 */
const agent = (bic: string | null, cnaps?: string | null) =>
  bic
    ? `<FinInstnId><BIC>${esc(bic)}</BIC></FinInstnId>`
    : cnaps
      ? `<FinInstnId><ClrSysMmbId><ClrSysId><Cd>CNAPS</Cd></ClrSysId><MmbId>${esc(cnaps)}</MmbId></ClrSysMmbId></FinInstnId>`
      : "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>";
// AccountIdentification4Choice: IBAN when it looks like one, else a generic (domestic) account number.
const account = (acct: string, ccy?: string) =>
  `<Id>${/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(acct) ? `<IBAN>${acct}</IBAN>` : `<Othr><Id>${esc(acct)}</Id></Othr>`}</Id>${ccy ? `<Ccy>${ccy}</Ccy>` : ""}`;

const sum = (ts: CreditTransfer[]) => yuan(ts.reduce((s, t) => s + t.amountFen, 0));

/**
 * ISO 20022 customer credit transfer initiation, pain.001.001.03 (element order as in the XSD,
 * CustomerCreditTransferInitiationV03). Amounts are written from integer fen, never via floats.
 */
export function buildPain001(p: {
  msgId: string;
  createdAt: Date;
  initiatingParty: string;
  instructions: PaymentInstruction[];
}): string {
  const all = p.instructions.flatMap((i) => i.transfers);
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">');
  out.push("<CstmrCdtTrfInitn>");
  out.push(
    `<GrpHdr><MsgId>${max(p.msgId, 35)}</MsgId><CreDtTm>${p.createdAt.toISOString().slice(0, 19)}</CreDtTm>` +
      `<NbOfTxs>${all.length}</NbOfTxs><CtrlSum>${sum(all)}</CtrlSum><InitgPty><Nm>${max(p.initiatingParty, 140)}</Nm></InitgPty></GrpHdr>`,
  );
  for (const i of p.instructions) {
    out.push(
      `<PmtInf><PmtInfId>${max(i.id, 35)}</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>${i.transfers.length}</NbOfTxs>` +
        `<CtrlSum>${sum(i.transfers)}</CtrlSum><ReqdExctnDt>${i.executionDate}</ReqdExctnDt>` +
        `<Dbtr><Nm>${max(i.debtorName, 140)}</Nm></Dbtr><DbtrAcct>${account(i.debtorAccount, i.currency)}</DbtrAcct>` +
        `<DbtrAgt>${agent(i.debtorBic)}</DbtrAgt><ChrgBr>SLEV</ChrgBr>`,
    );
    for (const t of i.transfers) {
      out.push(
        `<CdtTrfTxInf><PmtId><InstrId>${max(t.instrId, 35)}</InstrId><EndToEndId>${max(t.endToEndId, 35)}</EndToEndId></PmtId>` +
          `<Amt><InstdAmt Ccy="${t.currency}">${yuan(t.amountFen)}</InstdAmt></Amt>` +
          `<CdtrAgt>${agent(t.creditorBic, t.creditorCnaps)}</CdtrAgt><Cdtr><Nm>${max(t.creditorName, 140)}</Nm></Cdtr>` +
          `<CdtrAcct>${account(t.creditorAccount)}</CdtrAcct><RmtInf><Ustrd>${max(t.remittance, 140)}</Ustrd></RmtInf></CdtTrfTxInf>`,
      );
    }
    out.push("</PmtInf>");
  }
  out.push("</CstmrCdtTrfInitn>");
  out.push("</Document>");
  return `${out.join("\n")}\n`;
}
