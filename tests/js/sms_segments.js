// Reads a JSON array of strings on stdin; prints, for each, Twilio's calculation:
// {"encoding": "GSM-7"|"UCS-2", "segments": n}. Used by tests/sms.rs.
const { SegmentedMessage } = require('sms-segments-calculator');
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((text) => {
    const m = new SegmentedMessage(text);
    return { encoding: m.encodingName, segments: m.segmentsCount };
  });
  process.stdout.write(JSON.stringify(out));
});
