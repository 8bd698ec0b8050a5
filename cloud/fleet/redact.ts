/**
 * A config text as the device page may show it: the value of every key that names a password,
 * secret or token, and the password in any URL, replaced by `[redacted]`. What the gateway runs is
 * the text as sent (its SHA-256 is kept beside this copy).
 */
export function redactConfig(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line
        .replace(
          /^(\s*-?\s*[\w.-]*(?:password|passwd|secret|token|privatekey)[\w.-]*\s*:\s*)(?!\s*$)\S.*$/i,
          "$1[redacted]",
        )
        .replace(/(\/\/[^/\s:@"']+:)[^@\s/"']+@/g, "$1[redacted]@"),
    )
    .join("\n");
}
