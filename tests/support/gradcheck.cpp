#include "support/gradcheck.h"

#include <cmath>
#include <sstream>

#include "support/set_grad.h"
#include "tensor/random.h"

namespace gan::testing {

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(lo, hi);
  return t;
}

std::string compare(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  if (actual.shape() != expected.shape()) return str("shape ", actual.shape(), " vs expected ", expected.shape());
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.data()[i], e = expected.data()[i];
    if (!(std::fabs(a - e) <= atol + rtol * std::fabs(e)))
      return str("element ", i, ": got ", a, ", expected ", e, " (atol ", atol, ", rtol ", rtol, ")");
  }
  return "";
}

namespace {
double projected(const Tensor& out, const Tensor& projection) {
  double acc = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) acc += static_cast<double>(out.data()[i]) * projection.data()[i];
  return acc;
}
}  // namespace

std::string check_gradients(std::vector<Tensor> inputs, const OpUnderTest& op, GradCheckOptions options) {
  Tensor projection;
  {
    NoGradGuard no_grad;
    projection = random_tensor(op(inputs).shape(), 7, -1.0f, 1.0f);
  }
  // Analytic gradients on top of random pre-filled ones.
  std::vector<Tensor> prefill;
  {
    PoisonScope poison;
    for (size_t i = 0; i < inputs.size(); ++i) {
      inputs[i].set_requires_grad(true);
      prefill.push_back(random_tensor(inputs[i].shape(), 100 + i));
      set_grad(inputs[i], prefill.back().to_vector());
    }
    Tensor loss = sum(mul(op(inputs), projection));
    loss.backward();
  }
  std::ostringstream report;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& x = inputs[i];
    const Tensor analytic = x.grad();
    std::vector<double> numeric(x.numel());
    double largest = 0.0;
    for (int64_t j = 0; j < x.numel(); ++j) {
      NoGradGuard no_grad;
      const float saved = x.data()[j];
      x.data()[j] = static_cast<float>(saved + options.step);
      const double up = projected(op(inputs), projection);
      x.data()[j] = static_cast<float>(saved - options.step);
      const double down = projected(op(inputs), projection);
      x.data()[j] = saved;
      numeric[j] = (up - down) / (2.0 * options.step);
      largest = std::max(largest, std::fabs(numeric[j]));
    }
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double a = static_cast<double>(analytic.data()[j]) - prefill[i].data()[j];
      const double tolerance = options.atol + options.rtol * largest;
      if (!(std::fabs(a - numeric[j]) <= tolerance)) {
        report << "input " << i << " " << x.shape() << " element " << j << ": analytic " << a << ", numeric "
               << numeric[j] << " (tolerance " << tolerance << ")";
        return report.str();
      }
    }
  }
  return "";
}

}  // namespace gan::testing
