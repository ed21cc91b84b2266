import { DEFAULT_SCRYPT_PARAMS, parseHash, scryptHasher } from '../../src/auth/password';

const cheap = scryptHasher({ N: 2 ** 10, r: 8, p: 1 });

describe('password hashing', () => {
  it('stores scrypt with the default parameters in a self-describing string', async () => {
    // Act
    const hash = await scryptHasher().hash('correct horse battery staple');

    // Assess
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ N: 131072, r: 8, p: 1 });
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    // Prepare
    const hash = await cheap.hash('correct horse battery staple');

    // Act
    const right = await cheap.verify('correct horse battery staple', hash);
    const wrong = await cheap.verify('correct horse battery stapler', hash);

    // Assess
    expect(right).toEqual({ ok: true, needsRehash: false });
    expect(wrong).toEqual({ ok: false, needsRehash: false });
  });

  it('salts every hash', async () => {
    // Act
    const [a, b] = [await cheap.hash('same password'), await cheap.hash('same password')];

    // Assess
    expect(a).not.toBe(b);
  });

  it('asks for a re-hash when the stored parameters are not the current ones', async () => {
    // Prepare
    const old = await cheap.hash('a password to keep');

    // Act
    const outcome = await scryptHasher({ N: 2 ** 11, r: 8, p: 1 }).verify('a password to keep', old);

    // Assess
    expect(outcome).toEqual({ ok: true, needsRehash: true });
  });

  it('refuses stored strings with absurd or malformed parameters instead of running them', async () => {
    // Act
    const parsed = [
      parseHash('scrypt$4294967296$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      parseHash('scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      parseHash('bcrypt$10$whatever'),
    ];
    const outcome = await cheap.verify('x', 'scrypt$4294967296$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');

    // Assess
    expect(parsed).toEqual([null, null, null]);
    expect(outcome).toEqual({ ok: false, needsRehash: false });
  });
});
