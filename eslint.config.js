// eslint (flat config) for the browser sources and their build script: `make lint`.
import js from '@eslint/js';

const browser = Object.fromEntries(
  ['window', 'document', 'location', 'navigator', 'history', 'addEventListener', 'fetch', 'URL',
    'DOMParser', 'CustomEvent', 'Promise', 'setTimeout', 'console'].map((name) => [name, 'readonly'])
);
const node = Object.fromEntries(['process', 'console'].map((name) => [name, 'readonly']));

export default [
  js.configs.recommended,
  {
    files: ['static/banner/src/**/*.js'],
    languageOptions: { ecmaVersion: 2020, sourceType: 'module', globals: browser },
    rules: {
      // Readable sources: the minifier takes care of the bytes.
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'smart'],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error'
    }
  },
  {
    files: ['static/banner/build.mjs', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: node }
  }
];
