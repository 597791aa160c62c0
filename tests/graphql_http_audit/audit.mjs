// Runs the graphql-http audit suite against a GraphQL endpoint and prints one JSON array:
// [{id, name, status, reason?, httpStatus?, contentType?, body?}, ...].
// Usage: node tests/graphql_http_audit/audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}

async function describe(result) {
  const row = { id: result.id, name: result.name, status: result.status };
  if (result.status === 'ok') return row;
  row.reason = result.reason;
  if (result.response) {
    row.httpStatus = result.response.status;
    row.contentType = result.response.headers.get('content-type');
    try {
      row.body = (await result.response.text()).slice(0, 500);
    } catch {
      row.body = null; // already read by the audit itself
    }
  }
  return row;
}

const results = await auditServer({ url });
const rows = [];
for (const result of results) rows.push(await describe(result));
process.stdout.write(JSON.stringify(rows) + '\n');
