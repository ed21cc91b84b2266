import { ConfigError, DEFAULT_MAX_UPLOAD_BYTES, loadConfig } from '../../local/config';

describe('the local configuration', () => {
  it('defaults to port 8080, ./.untxt and the loopback interface', () => {
    // Act
    const config = loadConfig({}, '/srv/app');

    // Assess
    expect(config).toEqual({ port: 8080, host: '127.0.0.1', dataDir: '/srv/app/.untxt', maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES, registrationMode: 'open' });
  });

  it('honours PORT, UNTXT_DATA_DIR, DATABASE_URL and a public URL', () => {
    // Act
    const config = loadConfig(
      { PORT: '0', UNTXT_DATA_DIR: 'data', DATABASE_URL: 'postgres://u:p@db/untxt', UNTXT_PUBLIC_URL: 'http://localhost:9000/' },
      '/srv/app',
    );

    // Assess
    expect(config).toMatchObject({
      port: 0,
      dataDir: '/srv/app/data',
      databaseUrl: 'postgres://u:p@db/untxt',
      publicUrl: 'http://localhost:9000',
    });
  });

  it('treats an empty variable as unset', () => {
    // Act
    const config = loadConfig({ PORT: '', DATABASE_URL: '' });

    // Assess
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBeUndefined();
  });

  it('names every bad value, without echoing a database URL that may hold a password', () => {
    // Act
    let error: unknown;
    try {
      loadConfig({ PORT: '70000', DATABASE_URL: 'mysql://user:hunter2@db/x', UNTXT_HOST: 'example.com' });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('PORT: must be from 0 to 65535');
    expect(message).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(message).toContain('UNTXT_HOST');
    expect(message).not.toContain('hunter2');
  });

  it('refuses a port that is not a number', () => {
    // Act + Assess
    expect(() => loadConfig({ PORT: 'http' })).toThrow(/PORT: must be a number/);
  });
});
