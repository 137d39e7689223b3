# The native kernels addon: OpenBLAS sgemm for the products (and an AVX-512 matrix-vector kernel
# for a single sample), vectorised C++ for the loops between them, one thread team per kernels
# object; and team_probe, which only the tests load, to time tiles per thread on that team.
# native/build.mjs runs node-gyp on this.
# -fno-trapping-math lets the compiler vectorise selects such as relu's (we never enable FP traps);
# it changes no value, unlike -ffast-math, so results match the reference loops bit for bit.
{
  "targets": [
    {
      "target_name": "mlp_kernels",
      "sources": [
        "src/addon.cc",
        "src/team.cc",
        "src/runnable-threads.cc",
        "src/memory.cc",
        "src/matmul-forward.cc",
        "src/matmul-backward-input.cc",
        "src/matmul-backward-weight.cc",
        "src/optimizer-steps.cc",
        "src/rectifier.cc",
        "src/sums.cc",
        "src/load-byte-rows.cc"
      ],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    },
    {
      "target_name": "team_probe",
      "sources": ["src/team.cc", "src/runnable-threads.cc", "test/team-probe.cc"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-O2", "-Wall", "-Wextra"]
    }
  ]
}
