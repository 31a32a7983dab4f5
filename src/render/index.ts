// Public surface of src/render: the barrel re-exports exactly what is listed here.
export {};
