// Public surface of src/remote: the barrel re-exports exactly what is listed here.
export {};
