// Unit tests of the sidebar's parts (src/__tests__/*.spec.ts) in jsdom; the
// modules they import use only types from JupyterLab, so none is loaded.
module.exports = {
  testEnvironment: 'jsdom',
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
