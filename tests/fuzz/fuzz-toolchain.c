/* fuzz-toolchain.c - the smallest libFuzzer harness: tests/fuzz/meson.build
 * builds it to learn whether clang can link -fsanitize=fuzzer here. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
