/**
 * The preset dictionary of compression code 3 (deflate-raw with a dictionary, docs/protocol.md): the
 * text a compact (v2) batch document repeats in every frame, so a small live frame (a few records a
 * second) does not pay for its own skeleton. Deflate reads it as text that came before the frame, so
 * the most frequent strings sit at its end. Frozen: a different dictionary would be a new code.
 */
export const FRAME_DICTIONARY_1 = Buffer.from(
  '{"v":1,"d":"","id":"","at":,"h":"","tm":[' +
    '"k":"seal","k":"alarm","k":"event","k":"census","k":"sighting","k":"media","gap":{"from":,"to":,"r":"quota"},' +
    '"quality":"suspect","quality":"ok","state":true,"detail":{"units":{"degC","%","kg","ppm","k":"reading",' +
    '"b":{"c":{"unit":["degC","degC"],"value":[' +
    '{"v":2,"d":"","ao":,"s":[{"st":"","f":,"n":,"p":"","g":"","k":"block","tb":["-4-' +
    '"],"tw":[17,100,100,100],"tq":[0,0,0,0,0,0,0,0,0,0],"ts":true,"b":[{"values":{"',
  "utf8",
);
