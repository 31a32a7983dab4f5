// Public surface of src/etcd: the barrel re-exports exactly what is listed here.
export {};
