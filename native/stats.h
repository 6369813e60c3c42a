// Running mean and llama-perplexity's standard error of the mean, shared by perplexity() and the
// sensitivity probes so both report KLD and NLL with the same arithmetic.
#pragma once

#include <cmath>
#include <cstddef>

namespace apreqel {

struct Accumulator {
  double sum = 0, sum2 = 0;
  size_t count = 0;
  void add(double v) { sum += v; sum2 += v * v; ++count; }
  void merge(const Accumulator& o) { sum += o.sum; sum2 += o.sum2; count += o.count; }
  double mean() const { return count ? sum / count : NAN; }
  // llama-perplexity's standard error of the mean
  double stderrOfMean() const {
    if (count < 2) return NAN;
    double m = mean();
    double var = sum2 / count - m * m;
    return var > 0 ? std::sqrt(var / (count - 1)) : 0;
  }
};

}  // namespace apreqel
