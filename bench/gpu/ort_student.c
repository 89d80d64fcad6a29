/*
 * ort_student: runs an ONNX graph with ONNX Runtime's C API on the CPU or the CUDA execution provider and prints
 * one JSON object: the library's version, the scores of every input, and images/s at the given batch sizes.
 *
 * It exists to run the ONNX Runtime that the silo ships (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux, its
 * libonnxruntime.so and libonnxruntime_providers_cuda.so) on a GPU machine that has no .NET: the silo's CUDA path
 * is that library's CUDA provider with default options (ModelSession.AppendCudaQuietly), full graph optimisation
 * and float32 NCHW tensors in host memory, and so is this program's.
 *
 * usage: ort_student MODEL.onnx INPUTS.f32 cpu|cuda[:KEY=VALUE...] BATCHES SECONDS [THREADS]
 *   cuda:KEY=VALUE  CUDA provider options on top of the defaults, e.g. cuda:use_tf32=0 (ONNX Runtime's keys, as in
 *               UpdateCUDAProviderOptions; several are separated by ':'). Plain `cuda` is the silo's configuration.
 *   INPUTS.f32  raw float32 tensors, one after another, each of the shape of the model's first input without its
 *               batch dimension (for the student: 3x512x512); bench/gpu/student_ort_inputs.py writes it.
 *   BATCHES     comma-separated batch sizes to time, e.g. 1,8,32 (each at most the number of inputs).
 *   SECONDS     time per batch size: 2 warm-up runs, then runs until at least 2 runs and SECONDS have passed.
 *   THREADS     intra-op threads (0 = ONNX Runtime's default, one per core; the silo's default on CUDA).
 * Scores come from runs of 8 inputs at a time (the silo's default batch on CUDA). Times are of whole Run() calls
 * with the inputs in host memory, so on CUDA they include the host-to-device copy of the batch and the copy of the
 * scores back, as in the silo.
 * On failure (the CUDA provider or a library it needs does not load, say) it prints {"error": "..."} and exits 1.
 *
 * build (PKG: ~/.nuget/packages/microsoft.ml.onnxruntime.gpu.linux/1.31.0):
 *   gcc -O2 -std=c11 -Wall -Wextra -Werror -o ort_student ort_student.c -I$PKG/buildTransitive/native/include \
 *       -L$PKG/runtimes/linux-x64/native -lonnxruntime -Wl,-rpath,'$ORIGIN'
 * and copy it next to the three .so files of runtimes/linux-x64/native. The library's
 * soname is libonnxruntime.so.1 and the package ships only libonnxruntime.so: add the link
 * `ln -s libonnxruntime.so libonnxruntime.so.1` in the folder the program runs from, or on LD_LIBRARY_PATH.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnxruntime_c_api.h"

static const OrtApi *ort;

/* Prints the failure as the program's JSON answer (the message with quotes and control characters made safe). */
static void fail(const char *what, const char *message)
{
    printf("{\"error\": \"%s: ", what);
    for (const char *c = message; *c; c++)
        putchar(*c == '"' || *c == '\\' ? '\'' : (unsigned char)*c < 32 ? ' ' : *c);
    printf("\"}\n");
    exit(1);
}

static void check(OrtStatus *status, const char *what)
{
    if (status != NULL)
        fail(what, ort->GetErrorMessage(status));
}

/* Prints, as a JSON list, the shared libraries of CUDA, cuDNN and ONNX Runtime that this process has loaded (from
 * /proc/self/maps): which files the CUDA provider really found. */
static void print_loaded_libraries(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096], seen[64][512];
    int n = 0;
    printf("[");
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
        char *path = strchr(line, '/');
        if (path == NULL || (strstr(path, "libcu") == NULL && strstr(path, "libnv") == NULL
                             && strstr(path, "libonnxruntime") == NULL))
            continue;
        path[strcspn(path, "\n")] = 0;
        int known = 0;
        for (int i = 0; i < n && !known; i++)
            known = strcmp(seen[i], path) == 0;
        if (known || n == 64 || strlen(path) >= sizeof seen[0])
            continue;
        strcpy(seen[n], path);
        printf("%s\"%s\"", n++ ? ", " : "", path);
    }
    printf("]");
    if (maps != NULL)
        fclose(maps);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    OrtSession *session;
    OrtMemoryInfo *memory;
    const char *input_name;
    const char *output_name;
    int64_t shape[8]; /* the input's shape, batch first */
    size_t rank;
    size_t image_floats; /* floats per input */
} Model;

/* Runs one batch of `batch` inputs starting at `data`; copies up to `batch` scores into `scores` if not NULL. */
static void run(const Model *m, float *data, int batch, float *scores)
{
    int64_t shape[8];
    memcpy(shape, m->shape, sizeof shape);
    shape[0] = batch;
    OrtValue *input = NULL, *output = NULL;
    check(ort->CreateTensorWithDataAsOrtValue(m->memory, data, (size_t)batch * m->image_floats * sizeof(float), shape,
                                              m->rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &input),
          "CreateTensor");
    check(ort->Run(m->session, NULL, &m->input_name, (const OrtValue *const *)&input, 1, &m->output_name, 1, &output),
          "Run");
    if (scores != NULL) {
        OrtTensorTypeAndShapeInfo *info;
        size_t count;
        float *values;
        check(ort->GetTensorTypeAndShape(output, &info), "GetTensorTypeAndShape");
        check(ort->GetTensorShapeElementCount(info, &count), "GetTensorShapeElementCount");
        ort->ReleaseTensorTypeAndShapeInfo(info);
        if (count < (size_t)batch)
            fail("Run", "the model returned fewer scores than images");
        check(ort->GetTensorMutableData(output, (void **)&values), "GetTensorMutableData");
        /* One score per image: the first value of each image's share of the output. */
        for (int i = 0; i < batch; i++)
            scores[i] = values[(size_t)i * (count / (size_t)batch)];
    }
    ort->ReleaseValue(output);
    ort->ReleaseValue(input);
}

int main(int argc, char **argv)
{
    if (argc < 6 || (strcmp(argv[3], "cpu") != 0 && strncmp(argv[3], "cuda", 4) != 0)) {
        fprintf(stderr, "usage: ort_student MODEL.onnx INPUTS.f32 cpu|cuda[:KEY=VALUE...] BATCHES SECONDS [THREADS]\n");
        return 2;
    }
    const char *model_path = argv[1], *inputs_path = argv[2], *provider = argv[3];
    double seconds = atof(argv[5]);
    int threads = argc > 6 ? atoi(argv[6]) : 0;
    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (ort == NULL)
        fail("OrtGetApiBase", "this libonnxruntime.so does not offer the C API version the program was built with");

    OrtEnv *env;
    check(ort->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ort_student", &env), "CreateEnv");
    OrtSessionOptions *options;
    check(ort->CreateSessionOptions(&options), "CreateSessionOptions");
    check(ort->SetSessionGraphOptimizationLevel(options, ORT_ENABLE_ALL), "SetSessionGraphOptimizationLevel");
    if (threads > 0)
        check(ort->SetIntraOpNumThreads(options, threads), "SetIntraOpNumThreads");
    if (strncmp(provider, "cuda", 4) == 0) {
        /* Default options, device 0: what the silo's AppendExecutionProvider_CUDA(deviceId) asks for; then the
         * KEY=VALUE pairs after "cuda:", if any. */
        OrtCUDAProviderOptionsV2 *cuda;
        check(ort->CreateCUDAProviderOptions(&cuda), "CreateCUDAProviderOptions");
        const char *keys[16] = {"device_id"}, *values[16] = {"0"};
        size_t n = 1;
        char *spec = strdup(provider);
        for (char *kv = strtok(spec + 4, ":"); kv != NULL && n < 16; kv = strtok(NULL, ":")) {
            char *eq = strchr(kv, '=');
            if (eq == NULL)
                fail("provider", "CUDA options are written cuda:KEY=VALUE[:KEY=VALUE...]");
            *eq = 0;
            keys[n] = kv;
            values[n++] = eq + 1;
        }
        check(ort->UpdateCUDAProviderOptions(cuda, keys, values, n), "UpdateCUDAProviderOptions");
        free(spec);
        check(ort->SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda), "AppendExecutionProvider_CUDA");
        ort->ReleaseCUDAProviderOptions(cuda);
    }
    Model m = {0};
    double start = now();
    check(ort->CreateSession(env, model_path, options, &m.session), "CreateSession");
    double create_s = now() - start;

    OrtAllocator *allocator;
    check(ort->GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions");
    char *input_name, *output_name;
    check(ort->SessionGetInputName(m.session, 0, allocator, &input_name), "SessionGetInputName");
    check(ort->SessionGetOutputName(m.session, 0, allocator, &output_name), "SessionGetOutputName");
    m.input_name = input_name;
    m.output_name = output_name;
    OrtTypeInfo *type;
    const OrtTensorTypeAndShapeInfo *tensor;
    check(ort->SessionGetInputTypeInfo(m.session, 0, &type), "SessionGetInputTypeInfo");
    check(ort->CastTypeInfoToTensorInfo(type, &tensor), "CastTypeInfoToTensorInfo");
    check(ort->GetDimensionsCount(tensor, &m.rank), "GetDimensionsCount");
    if (m.rank < 2 || m.rank > 8)
        fail("input", "the model's first input is not a batch of tensors");
    check(ort->GetDimensions(tensor, m.shape, m.rank), "GetDimensions");
    ort->ReleaseTypeInfo(type);
    m.image_floats = 1;
    for (size_t i = 1; i < m.rank; i++) {
        if (m.shape[i] <= 0)
            fail("input", "only the batch dimension of the model's input may be dynamic");
        m.image_floats *= (size_t)m.shape[i];
    }
    check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &m.memory), "CreateCpuMemoryInfo");

    FILE *f = fopen(inputs_path, "rb");
    if (f == NULL)
        fail("inputs", "cannot open the inputs file");
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    int count = (int)((size_t)bytes / (m.image_floats * sizeof(float)));
    if (count < 1 || (size_t)bytes != (size_t)count * m.image_floats * sizeof(float))
        fail("inputs", "the inputs file is not a whole number of the model's input tensors");
    float *data = malloc((size_t)bytes);
    if (data == NULL || fread(data, 1, (size_t)bytes, f) != (size_t)bytes)
        fail("inputs", "cannot read the inputs file");
    fclose(f);

    float *scores = malloc((size_t)count * sizeof(float));
    for (int i = 0; i < count; i += 8) {
        int n = count - i < 8 ? count - i : 8;
        run(&m, data + (size_t)i * m.image_floats, n, scores + i);
    }

    printf("{\"ort_version\": \"%s\", \"provider\": \"%s\", \"intra_op_threads\": %d, \"session_create_s\": %.3f, "
           "\"inputs\": %d, \"scores\": [",
           OrtGetApiBase()->GetVersionString(), provider, threads, create_s, count);
    for (int i = 0; i < count; i++)
        printf("%s%.9g", i ? ", " : "", (double)scores[i]);
    printf("], \"loaded_libraries\": ");
    print_loaded_libraries();
    printf(", \"images_per_s\": {");
    fflush(stdout);
    char *batches = strdup(argv[4]);
    int first = 1;
    for (char *b = strtok(batches, ","); b != NULL; b = strtok(NULL, ",")) {
        int batch = atoi(b);
        if (batch < 1 || batch > count) {
            fprintf(stderr, "batch %d skipped: it needs 1..%d inputs\n", batch, count);
            continue;
        }
        for (int w = 0; w < 2; w++)
            run(&m, data, batch, NULL);
        int runs = 0;
        double t0 = now(), elapsed;
        do {
            run(&m, data, batch, NULL);
            runs++;
            elapsed = now() - t0;
        } while (runs < 2 || elapsed < seconds);
        printf("%s\"%d\": %.2f", first ? "" : ", ", batch, runs * batch / elapsed);
        fflush(stdout);
        first = 0;
    }
    printf("}}\n");
    free(batches);
    free(scores);
    free(data);
    allocator->Free(allocator, input_name);
    allocator->Free(allocator, output_name);
    ort->ReleaseMemoryInfo(m.memory);
    ort->ReleaseSession(m.session);
    ort->ReleaseSessionOptions(options);
    ort->ReleaseEnv(env);
    return 0;
}
