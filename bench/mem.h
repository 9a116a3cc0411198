/* mem.h - what the benchmarks measure memory and set up mappings with:
 * the radix_tree_node slab (xarray nodes, the device page tables of
 * daxmirror and of the kernel's test_hmm alike), fallocated test files,
 * mappings at a 2 MiB-aligned address, the rep movsb copy primitive.
 * Shared by dm-bench and dm-bench-hmm. */
#ifndef DM_BENCH_MEM_H
#define DM_BENCH_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* radix_tree_node slab: active objects and object size (/proc/slabinfo). */
void slab_radix(long *active, long *objsize);
/* Wait until the radix_tree_node count stops moving (RCU frees). */
void slab_settle(void);
/* A file of @len bytes in the directory $@var, fallocated; dies on error. */
int make_file(const char *var, const char *name, size_t len, char *path,
	      size_t plen);
/* mmap @len of @fd at an address 2 MiB aligned + @skew; dies on error. */
uint8_t *map_at(size_t len, size_t skew, int prot, int flags, int fd);
/* Whether copy_movsb() exists here (x86-64 only). */
bool have_movsb(void);
/* Copy with one `rep movsb` (the primitive the kernel's user copies use
 * with ERMS); dies where have_movsb() is false. */
void copy_movsb(void *dst, const void *src, size_t len);
/* The copy primitive of this machine's kernel user copies: copy_movsb()
 * where there is one, else memcpy(); and its name for a row. */
void copy_primitive(void *dst, const void *src, size_t len);
const char *copy_primitive_name(void);

#endif
