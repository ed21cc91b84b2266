import { splitRequestTarget } from '../../../src/adapters/local/request-target';

describe('splitting an HTTP request target', () => {
  it.each([
    ['/s3/b/k?X-Amz-Date=1', { path: '/s3/b/k', rawQuery: 'X-Amz-Date=1' }],
    ['http://127.0.0.1:8080/s3/b/k?a=1', { path: '/s3/b/k', rawQuery: 'a=1' }],
    ['HTTP://host', { path: '/', rawQuery: '' }],
    ['/a/../b%2F', { path: '/a/../b%2F', rawQuery: '' }],
  ])('reads %s as the same path and query whatever its form', (target, expected) => {
    // Act
    const split = splitRequestTarget(target);
    // Assess
    expect(split).toEqual(expected);
  });
});
