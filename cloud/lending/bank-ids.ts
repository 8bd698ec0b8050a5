/**
 * Bank identifiers checked at the API, so a payment file cannot fail at the bank for them:
 * BIC (ISO 9362), IBAN (ISO 13616, mod-97 check digits), CNAPS bank codes (China's National
 * Advanced Payment System, 12 digits) and domestic account numbers.
 */

// ISO 3166-1 alpha-2 (the BIC's country part and the IBAN's first two letters), plus XK (Kosovo, used by SWIFT).
const COUNTRIES = new Set(
  (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO " +
    "JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR " +
    "MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO " +
    "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV " +
    "TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"
  ).split(" "),
);

/**
 * Why a BIC is wrong, or null. Format per ISO 9362 as the pain.001.001.03 schema states it
 * (BICIdentifier: `[A-Z]{6,6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3,3}){0,1}`): a location code starting
 * with 0 or 1 (test and passive BICs, e.g. `ICBKCN01`) or ending in O is not a live BIC.
 */
export function bicProblem(bic: string): string | null {
  if (!/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(bic)) return "an 8 or 11 character BIC (ISO 9362)";
  if (!COUNTRIES.has(bic.slice(4, 6))) return `'${bic.slice(4, 6)}' is not an ISO 3166 country code`;
  if (!/^[A-Z2-9][A-NP-Z0-9]$/.test(bic.slice(6, 8)))
    return `location code '${bic.slice(6, 8)}' is a test or passive BIC, not one a bank accepts`;
  return null;
}

/** IBAN mod-97 (ISO 7064 MOD 97-10): letters → 10..35, rearranged with the first four characters last. */
export function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(iban) || !COUNTRIES.has(iban.slice(0, 2))) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= "A" ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = (rem * (v > 9 ? 100 : 10) + v) % 97;
  }
  return rem === 1;
}

/** Whether an account string is meant as an IBAN (two letters, two check digits). */
export const looksLikeIban = (acct: string) => /^[A-Z]{2}\d{2}/.test(acct);

/** Why an account is wrong, or null: an IBAN must pass mod-97; a domestic (Chinese) account is 8–30 digits. */
export function accountProblem(acct: string): string | null {
  if (looksLikeIban(acct)) return ibanValid(acct) ? null : `IBAN ${acct} fails its mod-97 check digits`;
  if (!/^\d{8,30}$/.test(acct)) return "a domestic account number (8–30 digits) or an IBAN";
  return null;
}

/** CNAPS bank code: 12 digits (3 bank class, 4 region, 4 branch, 1 check). */
export const cnapsValid = (c: string) => /^\d{12}$/.test(c);

/** Control characters (C0, DEL, C1) cannot appear in an XML 1.0 text element a bank accepts. */
export const hasControlChars = (s: string) => /[\u0000-\u001f\u007f-\u009f]/.test(s);
