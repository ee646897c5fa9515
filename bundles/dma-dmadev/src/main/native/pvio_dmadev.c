/*
 * pvio's shim over DPDK dmadev: the fast-path calls (rte_dma_copy, rte_dma_submit,
 * rte_dma_completed_status, rte_dma_burst_capacity) are static inline in rte_dmadev.h, so Java (JNA)
 * cannot call them; this library exposes one call per burst of copies and one per completion poll.
 *
 * Also here: the fault hooks (error rate, stall) and a strict IOVA mode that stands in for an IOMMU
 * (copies outside ranges registered with pvio_mem_map fail with RTE_DMA_STATUS_INVALID_ADDR instead of
 * reaching the engine).
 *
 * Threads: one user thread per channel for burst/poll/drain (the Java channel's user); pvio_chan_faults
 * and the counters may be written or read from other threads (relaxed atomics); memory registration is
 * serialised by a mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_dmadev.h>
#include <rte_malloc.h>
#include <rte_vfio.h>

#define PVIO_FLAG_FENCE 1
#define PVIO_MAX_RANGES 1024

/* one copy descriptor as Java writes it (native byte order) */
struct pvio_desc {
	uint64_t src;
	uint64_t dst;
	uint32_t len;
	uint32_t flags;
};

struct pvio_chan {
	int16_t dev;
	uint16_t vchan;
	uint16_t mask;        /* nb_desc - 1 */
	uint16_t nb_desc;
	uint16_t *status;     /* per ring index & mask: status of a completed copy not yet reported */
	uint8_t *injected;    /* per ring index & mask: 0, or the status the shim forces on this copy */
	uint64_t pulled;      /* copies taken from the device's completions */
	uint64_t reported;    /* copies reported to Java */
	uint64_t enqueued;    /* copies accepted by rte_dma_copy */
	uint32_t error_ppm;   /* fault: copies failed on purpose, per million */
	uint32_t stall;       /* fault: no completion reported */
	uint64_t rnd;
	char *scratch;        /* rte_malloc'd: what a failed-on-purpose copy copies instead */
	rte_iova_t scratch_iova;
	enum rte_dma_status_code tmp[1024];
};

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uint64_t va, len; } ranges[PVIO_MAX_RANGES];
static int nranges;
static volatile int strict_iova;

/* EAL: 0 when initialised now, 1 when it already was (once per process), else -rte_errno. */
int pvio_eal_init(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);
	if (ret >= 0)
		return 0;
	if (rte_errno == EALREADY)
		return 1;
	return -rte_errno;
}

const char *pvio_strerror(int err)
{
	return rte_strerror(err < 0 ? -err : err);
}

int pvio_dma_dev_id(const char *name)
{
	return rte_dma_get_dev_id_by_name(name);
}

int pvio_dma_count(void)
{
	return rte_dma_count_avail();
}

/* out: capa, max_vchans, max_desc, min_desc, numa_node */
int pvio_dma_info(int dev, int64_t *out)
{
	struct rte_dma_info info;
	int ret = rte_dma_info_get(dev, &info);
	if (ret < 0)
		return ret;
	out[0] = (int64_t)info.dev_capa;
	out[1] = info.max_vchans;
	out[2] = info.max_desc;
	out[3] = info.min_desc;
	out[4] = info.numa_node;
	return 0;
}

/* rte_dma_configure + rte_dma_vchan_setup (device stopped); returns a channel or NULL (errno set). */
struct pvio_chan *pvio_chan_open(int dev, int nb_desc)
{
	struct rte_dma_conf conf = { .nb_vchans = 1, .enable_silent = false };
	struct rte_dma_vchan_conf vconf = { .direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = nb_desc };
	struct pvio_chan *ch;
	int ret;

	if (nb_desc < 2 || nb_desc > 32768 || (nb_desc & (nb_desc - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	/* a device still started (by a channel not closed) refuses this with -EBUSY */
	ret = rte_dma_configure(dev, &conf);
	if (ret == 0)
		ret = rte_dma_vchan_setup(dev, 0, &vconf);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	ch->status = calloc(nb_desc, sizeof(*ch->status));
	ch->injected = calloc(nb_desc, 1);
	ch->scratch = rte_malloc("pvio_dma_scratch", 128, 64);
	if (ch->status == NULL || ch->injected == NULL || ch->scratch == NULL) {
		free(ch->status);
		free(ch->injected);
		rte_free(ch->scratch);
		free(ch);
		errno = ENOMEM;
		return NULL;
	}
	ch->scratch_iova = rte_malloc_virt2iova(ch->scratch);
	ch->dev = dev;
	ch->vchan = 0;
	ch->nb_desc = nb_desc;
	ch->mask = nb_desc - 1;
	ch->rnd = 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;
	return ch;
}

/* rte_dma_start; ring indexes restart at 0. Returns rte_dma_burst_capacity or -errno. */
int pvio_chan_start(struct pvio_chan *ch)
{
	int ret = rte_dma_start(ch->dev);
	if (ret < 0)
		return ret;
	ch->pulled = ch->reported = ch->enqueued = 0;
	memset(ch->injected, 0, ch->nb_desc);
	return rte_dma_burst_capacity(ch->dev, ch->vchan);
}

int pvio_chan_stop(struct pvio_chan *ch)
{
	return rte_dma_stop(ch->dev);
}

/* Frees the shim's state; the device stays configured (never rte_dma_close: EAL outlives us). */
void pvio_chan_close(struct pvio_chan *ch)
{
	free(ch->status);
	free(ch->injected);
	rte_free(ch->scratch);
	free(ch);
}

void pvio_chan_faults(struct pvio_chan *ch, uint32_t error_ppm, uint32_t stall)
{
	__atomic_store_n(&ch->error_ppm, error_ppm, __ATOMIC_RELAXED);
	__atomic_store_n(&ch->stall, stall, __ATOMIC_RELEASE);
}

void pvio_strict_iova(int on)
{
	strict_iova = on;
}

static int mapped(uint64_t va, uint64_t len)
{
	for (int i = 0; i < nranges; i++)
		if (va >= ranges[i].va && va - ranges[i].va + len <= ranges[i].len)
			return 1;
	return 0;
}

/* VFIO maps whole IOMMU pages: the pages holding [va, va+len) (pvio's ranges never share a page). */
static void page_span(uint64_t va, uint64_t len, uint64_t *pva, uint64_t *plen)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	*pva = va & ~(pg - 1);
	*plen = ((va + len + pg - 1) & ~(pg - 1)) - *pva;
}

/* Registers [va, va+len) for DMA at IOVA = VA. 0, or -errno. ENODEV from VFIO means nothing to map. */
int pvio_mem_map(uint64_t va, uint64_t len)
{
	int ret = 0;
	uint64_t pva, plen;
	page_span(va, len, &pva, &plen);
	pthread_mutex_lock(&mem_lock);
	if (nranges == PVIO_MAX_RANGES) {
		ret = -ENOSPC;
	} else {
		if (rte_vfio_is_enabled("vfio") &&
		    rte_vfio_container_dma_map(RTE_VFIO_DEFAULT_CONTAINER_FD, pva, pva, plen) < 0 &&
		    rte_errno != ENODEV && rte_errno != ENOTSUP)
			ret = -rte_errno;
		if (ret == 0) {
			ranges[nranges].va = va;
			ranges[nranges].len = len;
			nranges++;
		}
	}
	pthread_mutex_unlock(&mem_lock);
	return ret;
}

int pvio_mem_unmap(uint64_t va, uint64_t len)
{
	int ret = -ENOENT;
	uint64_t pva, plen;
	page_span(va, len, &pva, &plen);
	pthread_mutex_lock(&mem_lock);
	for (int i = 0; i < nranges; i++) {
		if (ranges[i].va == va && ranges[i].len == len) {
			ranges[i] = ranges[--nranges];
			ret = 0;
			if (rte_vfio_is_enabled("vfio"))
				rte_vfio_container_dma_unmap(RTE_VFIO_DEFAULT_CONTAINER_FD, pva, pva, plen);
			break;
		}
	}
	pthread_mutex_unlock(&mem_lock);
	return ret;
}

int pvio_mem_ranges(void)
{
	return nranges;
}

static uint32_t next_ppm(struct pvio_chan *ch)
{
	uint64_t x = ch->rnd;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	ch->rnd = x;
	return (uint32_t)((x >> 11) % 1000000);
}

/*
 * Enqueues n descriptors with rte_dma_copy (then rte_dma_submit when submit is set). A copy the fault
 * hook fails, or one outside the registered memory in strict mode, is replaced by a scratch copy so that
 * it keeps its ring index, and is reported failed. Returns the number accepted (n unless the ring was
 * full: the caller sized the burst to the capacity).
 */
int pvio_copy_burst(struct pvio_chan *ch, const struct pvio_desc *d, int n, int submit)
{
	uint32_t ppm = __atomic_load_n(&ch->error_ppm, __ATOMIC_RELAXED);
	int strict = strict_iova;
	int i;

	if (strict)
		pthread_mutex_lock(&mem_lock);
	for (i = 0; i < n; i++) {
		uint64_t flags = (d[i].flags & PVIO_FLAG_FENCE) ? RTE_DMA_OP_FLAG_FENCE : 0;
		uint8_t force = 0;
		int idx;

		if (strict && (!mapped(d[i].src, d[i].len) || !mapped(d[i].dst, d[i].len)))
			force = RTE_DMA_STATUS_INVALID_ADDR;
		else if (ppm != 0 && next_ppm(ch) < ppm)
			force = 0xff; /* RTE_DMA_STATUS_ERROR_UNKNOWN: 0x100 does not fit the byte */
		if (force)
			idx = rte_dma_copy(ch->dev, ch->vchan, ch->scratch_iova, ch->scratch_iova + 64, 1, flags);
		else
			idx = rte_dma_copy(ch->dev, ch->vchan, d[i].src, d[i].dst, d[i].len, flags);
		if (idx < 0)
			break;
		ch->injected[idx & ch->mask] = force;
		ch->enqueued++;
	}
	if (strict)
		pthread_mutex_unlock(&mem_lock);
	if (submit && i > 0)
		rte_dma_submit(ch->dev, ch->vchan);
	return i;
}

void pvio_submit(struct pvio_chan *ch)
{
	rte_dma_submit(ch->dev, ch->vchan);
}

/* Takes what the device completed into the shim's per-index status table. */
static void pull(struct pvio_chan *ch)
{
	uint16_t last;
	uint16_t room = (uint16_t)(ch->nb_desc - (ch->pulled - ch->reported));
	if (room > 1024)
		room = 1024;
	if (room == 0)
		return;
	uint16_t k = rte_dma_completed_status(ch->dev, ch->vchan, room, &last, ch->tmp);
	for (uint16_t j = 0; j < k; j++) {
		uint16_t slot = (uint16_t)(ch->pulled + j) & ch->mask;
		uint8_t force = ch->injected[slot];
		ch->status[slot] = force == 0xff ? RTE_DMA_STATUS_ERROR_UNKNOWN : force ? force : ch->tmp[j];
	}
	ch->pulled += k;
}

/*
 * One completion poll. Reports up to max copies in index order: with status != NULL every copy and its
 * status (rte_dma_completed_status), else only successful copies, stopping before a failed one
 * (rte_dma_completed). res: [0] last reported ring index, [1] has_error. Returns the count.
 */
int pvio_completed(struct pvio_chan *ch, int max, int32_t *status, int64_t *res)
{
	int n = 0;
	int error = 0;

	if (!__atomic_load_n(&ch->stall, __ATOMIC_ACQUIRE)) {
		if (ch->pulled - ch->reported < (uint64_t)max)
			pull(ch);
		while (n < max && ch->reported != ch->pulled) {
			uint16_t st = ch->status[(uint16_t)ch->reported & ch->mask];
			if (status != NULL) {
				status[n] = st;
			} else if (st != RTE_DMA_STATUS_SUCCESSFUL) {
				error = 1;
				break;
			}
			ch->reported++;
			n++;
		}
	}
	res[0] = (uint16_t)(ch->reported - 1);
	res[1] = error;
	return n;
}

/* Copies the device has not completed yet (after pulling its completions). */
int pvio_device_pending(struct pvio_chan *ch)
{
	pull(ch);
	return (int)(ch->enqueued - ch->pulled);
}
