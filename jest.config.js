/** jest + ts-jest; suites in ts/test run against both backends. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/ts/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  // The parity suite decodes 100,000 values through both builds.
  testTimeout: 120000,
};
