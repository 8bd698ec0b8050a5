// The ear-tag QR payload, `pig:<id>`: what a printed tag holds (models/synth draws it, ear-tag.ts
// reads it). Apart from the QR encoder (qrcode) so that reading a tag never loads it.
export const earTagText = (pigId: string): string => `pig:${pigId}`;

export function pigFromTag(text: string): string | null {
  const m = /^pig:([A-Za-z0-9._-]{1,64})$/.exec(text.trim());
  return m ? m[1]! : null;
}
