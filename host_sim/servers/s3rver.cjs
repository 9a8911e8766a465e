// Starts @20minutes/s3rver on loopback for tests/services: SigV4 is verified on every signed
// request and presigned URL. Usage: node s3rver.cjs PORT DIR ACCESS_KEY SECRET_KEY BUCKET...
// Prints "READY <port>" once listening. The default S3RVER key pair is revoked, so only the
// pair given here is accepted.
'use strict';
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const [port, dir, access, secret, ...buckets] = process.argv.slice(2);
AWSAccount.DUMMY_ACCOUNT.createKeyPair(access, secret);
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  silent: true,
  directory: dir,
  vhostBuckets: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(({ port }) => {
  process.stdout.write(`READY ${port}\n`);
});
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
