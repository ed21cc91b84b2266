import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { PHYSICAL_RESOURCE_ID, provision, type ProvisionDeps } from '../../lambdas/provision/provision-core';
import type { PasswordHasher } from '../../src/auth/password';
import type { Database } from '../../src/db/database';

const PUBLIC_JWKS = { keys: [{ kty: 'OKP' as const, crv: 'Ed25519' as const, kid: 'k1', x: 'x'.repeat(43) }] };

function fakes(overrides: Partial<ProvisionDeps> = {}) {
  const calls: string[] = [];
  const db = { close: jest.fn(async () => void calls.push('close')) } as unknown as Database;
  const deps: ProvisionDeps = {
    secrets: {} as SecretsManagerClient,
    openDatabase: () => db,
    passwords: {} as PasswordHasher,
    ensureSigningKeySecret: jest.fn(async (_s, id: string) => {
      calls.push(`signing:${id}`);
      return PUBLIC_JWKS;
    }),
    ensureFirstAdminFromSecret: jest.fn(async (_db, _p, _s, id: string) => {
      calls.push(`admin:${id}`);
      return { created: true };
    }),
    logger: { info: jest.fn() },
    ...overrides,
  };
  return { deps, calls, db };
}

const event = (type: 'Create' | 'Update' | 'Delete', props: Record<string, unknown> = { SigningSecretArn: 'arn:sign', FirstAdminSecretArn: 'arn:admin' }) =>
  ({ RequestType: type, ResourceProperties: { ServiceToken: 't', ...props }, PhysicalResourceId: 'old-id' }) as unknown as CloudFormationCustomResourceEvent;

describe('the API provisioning custom resource', () => {
  it.each(['Create', 'Update'] as const)('on %s ensures the signing key, then the first admin, and returns only the public key set', async (type) => {
    // Prepare
    const { deps, calls } = fakes();

    // Act
    const response = await provision(event(type), deps);

    // Assess
    expect(calls).toEqual(['signing:arn:sign', 'admin:arn:admin', 'close']);
    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { PublicJwks: JSON.stringify(PUBLIC_JWKS) } });
    expect(JSON.stringify(response)).not.toMatch(/"d"/);
  });

  it('does nothing on Delete and keeps the physical id', async () => {
    // Prepare
    const { deps, calls } = fakes();

    // Act
    const response = await provision(event('Delete'), deps);

    // Assess
    expect(calls).toEqual([]);
    expect(response).toEqual({ PhysicalResourceId: 'old-id' });
  });

  it('closes the database even when creating the admin fails, and fails the deployment', async () => {
    // Prepare
    const { deps, calls } = fakes({ ensureFirstAdminFromSecret: jest.fn(async () => Promise.reject(new Error('boom'))) });

    // Act
    const outcome = provision(event('Create'), deps);

    // Assess
    await expect(outcome).rejects.toThrow('boom');
    expect(calls).toContain('close');
  });

  it('refuses properties without the secret ARNs', async () => {
    // Prepare
    const { deps, calls } = fakes();

    // Act
    const outcome = provision(event('Create', { SigningSecretArn: 'arn:sign' }), deps);

    // Assess
    await expect(outcome).rejects.toThrow();
    expect(calls).toEqual([]);
  });
});
