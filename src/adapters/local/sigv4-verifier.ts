import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { ALGORITHM_IDENTIFIER, getSigningKey, SignatureV4, UNSIGNED_PAYLOAD } from '@smithy/signature-v4';
import { MAX_EXPIRES_IN_SECONDS } from '../aws/s3-presign';
import type { LocalCredentials } from './local-credentials';

/** S3's answer to a request whose presigned query does not hold. */
export interface SignatureRefusal {
  status: 400 | 403;
  code: 'AuthorizationQueryParametersError' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'AccessDenied';
  message: string;
}

export interface PresignedRequest {
  method: string;
  /** The path exactly as it came over the wire (still percent-encoded): S3 signs it unnormalised. */
  rawPath: string;
  /** Decoded query parameters, including the X-Amz-* ones. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

/** How far in the future a signing date may lie, as S3 tolerates clock skew. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const LONG_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * SignatureV4 with the two steps of presigning that it keeps protected exposed, so a canonical
 * request can be rebuilt from what actually arrived rather than from what a client claims.
 */
class CanonicalSigner extends SignatureV4 {
  canonicalRequest(request: HttpRequest, headers: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, headers, payloadHash);
  }

  stringToSign(longDate: string, scope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
  }
}

/**
 * Verifies SigV4 query-string (presigned) authentication the way S3 does: recompute the signature
 * over the method, the raw path, every query parameter but the signature, and the *received*
 * values of the headers the URL says it signed. A client that changes the key, a signed query
 * parameter or a signed header (Content-Type, Content-Length, x-amz-checksum-sha256) therefore
 * gets SignatureDoesNotMatch, exactly as from S3. Checks the expiry after the signature, so a
 * tampered X-Amz-Expires reads as tampering. Like S3, any `x-amz-*` header the URL did not sign is
 * refused (AccessDenied): such headers change what a request does (SSE-C keys, a KMS key id, a
 * checksum), so an unsigned one would let the holder of a URL do more than it was signed for.
 */
export class PresignedUrlVerifier {
  private readonly signer: CanonicalSigner;

  constructor(
    private readonly credentials: LocalCredentials,
    private readonly region: string,
    private readonly service = 's3',
  ) {
    // uriEscapePath false: S3 signs the path as sent, without the double encoding other services use.
    this.signer = new CanonicalSigner({ credentials, region, service, sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });
  }

  async verify(request: PresignedRequest, now: Date): Promise<SignatureRefusal | null> {
    const { query } = request;
    if (query['X-Amz-Algorithm'] !== ALGORITHM_IDENTIFIER) {
      return malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    const credential = parseCredential(query['X-Amz-Credential']);
    if (!credential) return malformed('Error parsing the X-Amz-Credential parameter');
    const longDate = query['X-Amz-Date'] ?? '';
    const signedAt = parseLongDate(longDate);
    if (!signedAt || !longDate.startsWith(credential.shortDate)) return malformed('Invalid X-Amz-Date');
    const expiresIn = Number(query['X-Amz-Expires']);
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN_SECONDS) {
      return malformed(`X-Amz-Expires must be from 1 to ${MAX_EXPIRES_IN_SECONDS} seconds`);
    }
    if (credential.region !== this.region || credential.service !== this.service) {
      return malformed(`Credential should be scoped to a valid region and to the ${this.service} service`);
    }
    if (credential.accessKeyId !== this.credentials.accessKeyId) {
      return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    }
    const signedHeaderNames = (query['X-Amz-SignedHeaders'] ?? '').split(';');
    if (!isCanonicalHeaderList(signedHeaderNames)) {
      return malformed('X-Amz-SignedHeaders must list distinct lower-case header names in order');
    }
    if (!signedHeaderNames.includes('host')) return malformed('X-Amz-SignedHeaders must include host');

    const expected = await this.signatureFor(request, signedHeaderNames, credential, longDate);
    if (!sameHex(expected, query['X-Amz-Signature'] ?? '')) {
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    }
    const unsigned = Object.keys(request.headers).find((name) => name.toLowerCase().startsWith('x-amz-') && !signedHeaderNames.includes(name.toLowerCase()));
    if (unsigned !== undefined) {
      return { status: 403, code: 'AccessDenied', message: 'There were headers present in the request which were not signed' };
    }
    if (now.getTime() >= signedAt.getTime() + expiresIn * 1000) {
      return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    }
    if (signedAt.getTime() - now.getTime() > MAX_CLOCK_SKEW_MS) {
      return { status: 403, code: 'AccessDenied', message: 'Request is not valid yet' };
    }
    return null;
  }

  private async signatureFor(
    request: PresignedRequest,
    signedHeaderNames: string[],
    credential: ParsedCredential,
    longDate: string,
  ): Promise<string> {
    const canonicalHeaders: Record<string, string> = {};
    for (const name of signedHeaderNames) {
      // A signed header that did not arrive signs as empty, which cannot match the URL's signature.
      canonicalHeaders[name] = normaliseHeaderValue(request.headers[name]);
    }
    const { 'X-Amz-Signature': _signature, ...signedQuery } = request.query;
    const canonical = this.signer.canonicalRequest(
      new HttpRequest({ method: request.method, path: request.rawPath, query: signedQuery, headers: {} }),
      canonicalHeaders,
      // Presigned S3 URLs never sign the payload; the checksum header binds the bytes instead.
      request.query['X-Amz-Content-Sha256'] ?? UNSIGNED_PAYLOAD,
    );
    const scope = `${credential.shortDate}/${credential.region}/${credential.service}/aws4_request`;
    const stringToSign = await this.signer.stringToSign(longDate, scope, canonical);
    const key = await getSigningKey(
      Hash.bind(null, 'sha256'),
      this.credentials,
      credential.shortDate,
      credential.region,
      credential.service,
    );
    return createHmac('sha256', key).update(stringToSign).digest('hex');
  }
}

interface ParsedCredential {
  accessKeyId: string;
  shortDate: string;
  region: string;
  service: string;
}

function parseCredential(value: string | undefined): ParsedCredential | null {
  const parts = value?.split('/');
  if (parts?.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1] ?? '')) return null;
  const [accessKeyId, shortDate, region, service] = parts as [string, string, string, string];
  return { accessKeyId, shortDate, region, service };
}

function parseLongDate(value: string): Date | null {
  const match = LONG_DATE.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Mirrors the signer's canonical form: repeated headers joined, whitespace runs collapsed, trimmed. */
function normaliseHeaderValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim();
}

/** SigV4's form: lower-case names, sorted, each once. Anything else is a hand-made or tampered list. */
function isCanonicalHeaderList(names: string[]): boolean {
  return names.every((name, i) => /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) && (i === 0 || names[i - 1]! < name));
}

function sameHex(expected: string, provided: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(provided)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(provided, 'hex'));
}

function malformed(message: string): SignatureRefusal {
  return { status: 400, code: 'AuthorizationQueryParametersError', message };
}
