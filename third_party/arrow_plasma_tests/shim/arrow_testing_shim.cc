// plasma-deno shim, not from Arrow: the three arrow::AssertBufferEqual overloads of Arrow's
// testing library (libarrow_testing, which the pyarrow 11 wheel does not ship), declared in the
// wheel's arrow/testing/gtest_util.h. Each checks the size, then every byte, as a gtest assertion.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "arrow/buffer.h"
#include "arrow/testing/gtest_util.h"

namespace arrow {

void AssertBufferEqual(const Buffer& buffer, const std::vector<uint8_t>& expected) {
  ASSERT_EQ(static_cast<size_t>(buffer.size()), expected.size()) << "buffer size differs";
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(buffer.data()[i], expected[i]) << "at byte " << i;
  }
}

void AssertBufferEqual(const Buffer& buffer, const std::string& expected) {
  ASSERT_EQ(static_cast<size_t>(buffer.size()), expected.size()) << "buffer size differs";
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(buffer.data()[i], static_cast<uint8_t>(expected[i])) << "at byte " << i;
  }
}

void AssertBufferEqual(const Buffer& buffer, const Buffer& expected) {
  ASSERT_EQ(buffer.size(), expected.size()) << "buffer size differs";
  ASSERT_TRUE(buffer.Equals(expected));
}

}  // namespace arrow
