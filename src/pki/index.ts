// Public surface of src/pki: the barrel re-exports exactly what is listed here.
export {};
