// Wrapper module that builds official etcd binaries from etcd's own Go modules (see README.md).
// This go.mod only marks the module root: every build names its pinned version with
// -modfile=versions/vX.Y.Z.mod (and Go reads the matching versions/vX.Y.Z.sum).
module etcd-kit.test/etcd-build

go 1.25.0
