import { logIdleClientError } from '../../src/db/pg-database';

describe('the node-postgres adapter', () => {
  it('logs the kind, message and SQLSTATE of an idle client error without the error object', () => {
    // Prepare
    const logger = { error: jest.fn() };
    const err = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
      client: { connectionParameters: { password: 'secret-password' } },
    });
    // Act
    logIdleClientError(logger)(err);
    // Assess
    expect(logger.error).toHaveBeenCalledWith('database connection lost while idle', {
      error: { name: 'Error', message: 'terminating connection due to administrator command' },
      sqlState: '57P01',
    });
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain('secret-password');
  });
});
