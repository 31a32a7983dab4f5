// Public surface of src/deploy: the barrel re-exports exactly what is listed here.
export {};
