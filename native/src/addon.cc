// The N-API face of the native kernels: createTeam(threads) and one export per kernel, each taking
// the team first and then the arguments of the Kernels method of the same name. Arguments are
// checked here, so a wrong size is a RangeError in JavaScript and never a write out of bounds.
#include <node_api.h>

#include <cmath>
#include <limits>
#include <string>

#include "kernels.h"
#include "memory.h"

extern "C" void openblas_set_num_threads(int threads);
extern "C" char* openblas_get_corename(void);

namespace {

constexpr int MAX_THREADS = 64;
constexpr std::size_t MAX_ARGS = 12;

// One call's arguments. The first failed check throws in JavaScript and makes every later read
// return an empty value, so a kernel runs only when all its reads succeeded.
class Call {
 public:
  Call(napi_env env, napi_callback_info info) : env_(env) {
    napi_get_cb_info(env, info, &argc_, args_, nullptr, nullptr);
  }

  bool ok() const { return !failed_; }

  Team* team() {
    void* data = nullptr;
    if (ok() && napi_get_value_external(env_, args_[0], &data) != napi_ok) fail(nullptr, "the first argument must be a thread team");
    return static_cast<Team*>(data);
  }

  // A typed array argument of the given type and the elements it holds.
  template <typename Element>
  Element* elements(std::size_t at, const char* name, napi_typedarray_type wanted, const char* typeName, std::size_t* length) {
    napi_typedarray_type type;
    void* data = nullptr;
    bool isTypedArray = false;
    *length = 0;
    if (!ok()) return nullptr;
    napi_is_typedarray(env_, args_[at], &isTypedArray);
    if (isTypedArray) napi_get_typedarray_info(env_, args_[at], &type, length, &data, nullptr, nullptr);
    if (!isTypedArray || type != wanted) fail(nullptr, std::string(name) + " must be a " + typeName);
    return static_cast<Element*>(data);
  }

  // A Float32Array argument and the floats it holds.
  float* floats(std::size_t at, const char* name, std::size_t* length) {
    return elements<float>(at, name, napi_float32_array, "Float32Array", length);
  }

  // A typed array of the given type that must hold at least `needed` elements, named `unit` in the message.
  template <typename Element>
  Element* elements(std::size_t at, const char* name, napi_typedarray_type wanted, const char* typeName, std::size_t needed, const char* unit) {
    std::size_t length = 0;
    Element* data = elements<Element>(at, name, wanted, typeName, &length);
    if (ok() && length < needed) {
      fail("ERR_OUT_OF_RANGE", std::string(name) + " holds " + std::to_string(length) + " " + unit + "; this call needs " + std::to_string(needed));
    }
    return data;
  }

  // A Float32Array that must hold at least `needed` floats.
  float* floats(std::size_t at, const char* name, std::size_t needed) {
    return elements<float>(at, name, napi_float32_array, "Float32Array", needed, "floats");
  }

  // A Float32Array of at least `needed` floats, or null for none.
  float* optionalFloats(std::size_t at, const char* name, std::size_t needed) {
    napi_valuetype type = napi_undefined;
    if (ok()) napi_typeof(env_, args_[at], &type);
    return type == napi_null ? nullptr : floats(at, name, needed);
  }

  // Fails unless every index is below `limit`.
  void checkIndexes(const std::uint32_t* indexes, int count, std::size_t limit, const char* name) {
    for (int i = 0; ok() && i < count; i++) {
      if (indexes[i] >= limit) fail("ERR_OUT_OF_RANGE", std::string(name) + " holds row " + std::to_string(indexes[i]) + "; there are " + std::to_string(limit));
    }
  }

  // A whole number ≥ 0 that fits an int. Checked before any cast, so NaN and values out of an
  // int's range fail rather than convert.
  int count(std::size_t at, const char* name) {
    double value = 0;
    if (ok() && (napi_get_value_double(env_, args_[at], &value) != napi_ok ||
                 !(value >= 0 && value <= std::numeric_limits<int>::max() && value == std::floor(value)))) {
      fail("ERR_OUT_OF_RANGE", std::string(name) + " must be a whole number ≥ 0");
    }
    return ok() ? static_cast<int>(value) : 0;
  }

  double wideNumber(std::size_t at) {
    double value = 0;
    if (ok() && napi_get_value_double(env_, args_[at], &value) != napi_ok) fail(nullptr, "a scalar argument must be a number");
    return value;
  }

  float number(std::size_t at) { return static_cast<float>(wideNumber(at)); }

  napi_value result(double value) {
    napi_value out = nullptr;
    if (ok()) napi_create_double(env_, value, &out);
    return out;
  }

 private:
  void fail(const char* code, const std::string& message) {
    failed_ = true;
    if (code) napi_throw_range_error(env_, code, message.c_str());
    else napi_throw_type_error(env_, nullptr, message.c_str());
  }

  napi_env env_;
  std::size_t argc_ = MAX_ARGS;
  napi_value args_[MAX_ARGS] = {};
  bool failed_ = false;
};

long product(int a, int b) { return static_cast<long>(a) * b; }

napi_value createTeam(napi_env env, napi_callback_info info) {
  double threads = 0;
  napi_value args[1];
  std::size_t argc = 1;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  napi_get_value_double(env, args[0], &threads);
  if (threads != static_cast<int>(threads) || threads < 1 || threads > MAX_THREADS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", ("threads must be a whole number from 1 to " + std::to_string(MAX_THREADS)).c_str());
    return nullptr;
  }
  auto* team = new Team(static_cast<int>(threads));
  napi_value external;
  napi_create_external(env, team, [](napi_env, void* data, void*) { delete static_cast<Team*>(data); }, nullptr, &external);
  return external;
}

// allocate(length): a zeroed Float32Array of `length` floats. One that fills a 2 MiB page or more
// is mapped on huge pages outside the JavaScript heap (see memory.cc) and unmapped when collected.
napi_value allocate(napi_env env, napi_callback_info info) {
  Call call(env, info);
  const int length = call.count(0, "length");
  if (!call.ok()) return nullptr;
  const auto floats = static_cast<std::size_t>(length);
  const std::size_t bytes = floats * sizeof(float);
  napi_value buffer = nullptr;
  MappedBlock block{};
  if (bytes < HUGE_PAGE_BYTES || !mapBlock(bytes, &block)) {
    // A failed mapping falls back to the heap, which throws its own RangeError if it cannot either.
    void* data = nullptr;
    if (napi_create_arraybuffer(env, bytes, &data, &buffer) != napi_ok) return nullptr;
  } else {
    auto* owned = new MappedBlock(block);
    const auto release = [](napi_env finalizing, void*, void* hint) {
      auto* mapped = static_cast<MappedBlock*>(hint);
      int64_t ignored = 0;
      napi_adjust_external_memory(finalizing, -static_cast<int64_t>(mapped->mappingBytes), &ignored);
      unmapBlock(*mapped);
      delete mapped;
    };
    if (napi_create_external_arraybuffer(env, block.data, bytes, release, owned, &buffer) != napi_ok) {
      unmapBlock(block);
      delete owned;
      return nullptr;
    }
    // The collector counts this memory towards the heap's pressure, as it would a heap buffer's.
    int64_t ignored = 0;
    napi_adjust_external_memory(env, static_cast<int64_t>(block.mappingBytes), &ignored);
  }
  napi_value array = nullptr;
  napi_create_typedarray(env, napi_float32_array, floats, buffer, 0, &array);
  return array;
}

napi_value stopTeam(napi_env env, napi_callback_info info) {
  Call call(env, info);
  if (Team* team = call.team()) team->stop();
  return nullptr;
}

// The CPU family whose kernels OpenBLAS chose when it loaded: its own detection, or OPENBLAS_CORETYPE.
napi_value blasCore(napi_env env, napi_callback_info) {
  napi_value name;
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &name);
  return name;
}

napi_value forward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int batch = c.count(5, "batch"), inDim = c.count(6, "inDim"), outDim = c.count(7, "outDim");
  float* out = c.floats(1, "out", product(batch, outDim));
  float* inp = c.floats(2, "inp", product(batch, inDim));
  float* weight = c.floats(3, "weight", product(outDim, inDim));
  float* bias = c.floats(4, "bias", outDim);
  if (c.ok()) matmulForward(*team, out, nullptr, inp, weight, bias, batch, inDim, outDim, NO_RECTIFIER);
  return nullptr;
}

napi_value rectifiedForward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int batch = c.count(6, "batch"), inDim = c.count(7, "inDim"), outDim = c.count(8, "outDim");
  float* z = c.floats(1, "z", product(batch, outDim));
  float* a = c.floats(2, "a", product(batch, outDim));
  float* inp = c.floats(3, "inp", product(batch, inDim));
  float* weight = c.floats(4, "weight", product(outDim, inDim));
  float* bias = c.floats(5, "bias", outDim);
  float slope = c.number(9);
  if (c.ok()) matmulForward(*team, z, a, inp, weight, bias, batch, inDim, outDim, {true, slope});
  return nullptr;
}

napi_value backwardInput(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int batch = c.count(4, "batch"), inDim = c.count(5, "inDim"), outDim = c.count(6, "outDim");
  float* dInp = c.floats(1, "dInp", product(batch, inDim));
  float* dOut = c.floats(2, "dOut", product(batch, outDim));
  float* weight = c.floats(3, "weight", product(outDim, inDim));
  if (c.ok()) matmulBackwardInput(*team, dInp, dOut, weight, nullptr, nullptr, batch, inDim, outDim, NO_RECTIFIER);
  return nullptr;
}

napi_value rectifiedBackwardInput(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int batch = c.count(6, "batch"), inDim = c.count(7, "inDim"), outDim = c.count(8, "outDim");
  float* dZ = c.floats(1, "dZ", product(batch, inDim));
  float* dOut = c.floats(2, "dOut", product(batch, outDim));
  float* weight = c.floats(3, "weight", product(outDim, inDim));
  float* z = c.floats(4, "z", product(batch, inDim));
  float* mask = c.optionalFloats(5, "mask", product(batch, inDim));
  float slope = c.number(9);
  if (c.ok()) matmulBackwardInput(*team, dZ, dOut, weight, z, mask, batch, inDim, outDim, {true, slope});
  return nullptr;
}

napi_value backwardWeight(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int batch = c.count(5, "batch"), inDim = c.count(6, "inDim"), outDim = c.count(7, "outDim");
  float* dWeight = c.floats(1, "dWeight", product(outDim, inDim));
  float* dBias = c.floats(2, "dBias", outDim);
  float* dOut = c.floats(3, "dOut", product(batch, outDim));
  float* inp = c.floats(4, "inp", product(batch, inDim));
  if (c.ok()) matmulBackwardWeight(*team, dWeight, dBias, dOut, inp, batch, inDim, outDim);
  return nullptr;
}

napi_value zeroValues(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  std::size_t n = 0;
  float* values = c.floats(1, "values", &n);
  if (c.ok()) zero(*team, values, n);
  return nullptr;
}

napi_value sumSquares(napi_env env, napi_callback_info info) {
  Call c(env, info);
  std::size_t n = 0;
  float* values = c.floats(1, "values", &n);
  return c.result(c.ok() ? sumOfSquares(values, n) : 0);
}

napi_value sumSquaredDifferences(napi_env env, napi_callback_info info) {
  Call c(env, info);
  std::size_t n = 0;
  float* a = c.floats(1, "a", &n);
  float* b = c.floats(2, "b", n);
  return c.result(c.ok() ? sumOfSquaredDifferences(a, b, n) : 0);
}

napi_value columnPeak(napi_env env, napi_callback_info info) {
  Call c(env, info);
  int batch = c.count(3, "batch"), width = c.count(4, "width");
  float* peak = c.floats(1, "peak", width);
  float* z = c.floats(2, "z", product(batch, width));
  if (c.ok()) columnMax(peak, z, batch, width);
  return nullptr;
}

napi_value byteRows(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int start = c.count(4, "start"), count = c.count(5, "count"), width = c.count(6, "width");
  float* out = c.floats(1, "out", product(count, width));
  std::size_t byteCount = 0;
  auto* bytes = c.elements<std::uint8_t>(2, "bytes", napi_uint8_array, "Uint8Array", &byteCount);
  auto* order = c.elements<std::uint32_t>(3, "order", napi_uint32_array, "Uint32Array", static_cast<std::size_t>(start) + count, "indexes");
  double scale = c.wideNumber(7);
  if (c.ok()) c.checkIndexes(order + start, count, width == 0 ? SIZE_MAX : byteCount / width, "order");
  if (c.ok()) loadByteRows(*team, out, bytes, order + start, count, width, scale);
  return nullptr;
}

napi_value reluForward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int n = c.count(3, "n");
  float* a = c.floats(1, "a", n);
  float* z = c.floats(2, "z", n);
  float slope = c.number(4);
  if (c.ok()) rectifierForward(*team, a, z, n, slope);
  return nullptr;
}

napi_value reluBackward(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Team* team = c.team();
  int n = c.count(4, "n");
  float* dZ = c.floats(1, "dZ", n);
  float* dA = c.floats(2, "dA", n);
  float* z = c.floats(3, "z", n);
  float slope = c.number(5);
  if (c.ok()) rectifierBackward(*team, dZ, dA, z, n, slope);
  return nullptr;
}

// An optimizer step runs over all of params: its gradient and state must be as long, and the
// weights a prefix of it.
struct Step {
  Team* team;
  float* params;
  std::size_t n;
  std::size_t weightCount;
};

Step readStep(Call& c, std::size_t weightCountAt) {
  Step step{c.team(), nullptr, 0, 0};
  step.params = c.floats(1, "params", &step.n);
  int weightCount = c.count(weightCountAt, "weightCount");
  if (c.ok() && static_cast<std::size_t>(weightCount) > step.n) c.floats(1, "params", static_cast<std::size_t>(weightCount));
  step.weightCount = weightCount;
  return step;
}

napi_value sgd(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Step s = readStep(c, 3);
  float* grads = c.floats(2, "grads", s.n);
  float l2 = c.number(4), lr = c.number(5);
  if (c.ok()) sgdStep(*s.team, s.params, grads, s.n, s.weightCount, l2, lr);
  return nullptr;
}

using VelocityStep = void (*)(Team&, float*, const float*, float*, std::size_t, std::size_t, float, float, float);

// Momentum and Nesterov take the same arguments: params, grads, velocity, weightCount, l2, lr, mu.
template <VelocityStep step>
napi_value velocity(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Step s = readStep(c, 4);
  float* grads = c.floats(2, "grads", s.n);
  float* velocity = c.floats(3, "velocity", s.n);
  float l2 = c.number(5), lr = c.number(6), mu = c.number(7);
  if (c.ok()) step(*s.team, s.params, grads, velocity, s.n, s.weightCount, l2, lr, mu);
  return nullptr;
}

napi_value adam(napi_env env, napi_callback_info info) {
  Call c(env, info);
  Step s = readStep(c, 5);
  float* grads = c.floats(2, "grads", s.n);
  float* m = c.floats(3, "m", s.n);
  float* v = c.floats(4, "v", s.n);
  float l2 = c.number(6), stepSize = c.number(7), beta1 = c.number(8), beta2 = c.number(9), epsilon = c.number(10);
  if (c.ok()) adamStep(*s.team, s.params, grads, m, v, s.n, s.weightCount, l2, stepSize, beta1, beta2, epsilon);
  return nullptr;
}

// The dispatch table: export name → binding.
const napi_property_descriptor EXPORTS[] = {
    {"createTeam", nullptr, createTeam, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"allocate", nullptr, allocate, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"stopTeam", nullptr, stopTeam, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"blasCore", nullptr, blasCore, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"matmulForward", nullptr, forward, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"matmulBackwardInput", nullptr, backwardInput, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"matmulRectifierForward", nullptr, rectifiedForward, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"matmulRectifierBackwardInput", nullptr, rectifiedBackwardInput, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"matmulBackwardWeight", nullptr, backwardWeight, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"zero", nullptr, zeroValues, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"sumOfSquares", nullptr, sumSquares, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"sumOfSquaredDifferences", nullptr, sumSquaredDifferences, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"columnMax", nullptr, columnPeak, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"loadByteRows", nullptr, byteRows, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"rectifierForward", nullptr, reluForward, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"rectifierBackward", nullptr, reluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"sgdStep", nullptr, sgd, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"momentumStep", nullptr, velocity<momentumStep>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"nesterovStep", nullptr, velocity<nesterovStep>, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"adamStep", nullptr, adam, nullptr, nullptr, nullptr, napi_default, nullptr},
};

}  // namespace

NAPI_MODULE_INIT() {
  // OpenBLAS runs each call on the calling thread: our team splits the products into tiles itself,
  // so results do not depend on OpenBLAS's own split, and its threads never compete with ours.
  openblas_set_num_threads(1);
  napi_define_properties(env, exports, sizeof(EXPORTS) / sizeof(EXPORTS[0]), EXPORTS);
  return exports;
}
