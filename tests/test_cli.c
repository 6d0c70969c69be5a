/*
 * test_cli.c - the omptrain command end to end: help, bad flags and values
 * (named in the error, exit 2), bad data (exit 1, never a crash), and a
 * small train -> history -> save -> evaluate -> summary run on IDX files
 * written by the test.
 */
#include <criterion/criterion.h>

#include "helpers.h"

static char dir[256];
static char out[1 << 16];

static void setup(void) { th_tmpdir(dir, sizeof dir); }

TestSuite(cli, .init = setup, .timeout = 300);

/* Runs `omptrain ARGS` through the shell; stdout+stderr into out. */
static int run_env(const char *env, const char *args)
{
    char e[1024];
    snprintf(e, sizeof e, "OMPTRAIN_DATA= %s", env);
    return th_run_normally("OMPTRAIN_BIN", e, args, out, sizeof out);
}

static int run(const char *args) { return run_env("", args); }

/* A small learnable IDX dataset: 8x8 images whose bright row is the label. */
static void write_idx(const char *sub, const char *split, uint32_t n)
{
    char d[400], img[512], lab[512];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    mkdir(d, 0755);
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", d, split);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", d, split);
    unsigned char *b = malloc(16 + (size_t)n * 64), *l = malloc(8 + n);
    th_be32(b, 0x803);
    th_be32(b + 4, n);
    th_be32(b + 8, 8);
    th_be32(b + 12, 8);
    th_be32(l, 0x801);
    th_be32(l + 4, n);
    for (uint32_t i = 0; i < n; i++) {
        unsigned label = (i * 7 + i / 3) % 4;
        l[8 + i] = (unsigned char)label;
        for (int p = 0; p < 64; p++)
            b[16 + (size_t)i * 64 + p] =
                (unsigned char)((p / 8 == (int)label ? 200 : 0) + (i * 31 + (unsigned)p * 17) % 50);
    }
    th_write(img, b, 16 + (size_t)n * 64, 1);
    th_write(lab, l, 8 + n, 0);
    free(b);
    free(l);
}

Test(cli, help_documents_every_flag_with_defaults)
{
    EXPECT_RUN("--help", 0, "train");
    EXPECT_RUN("train --help", 0, "--validation-split F");
    cr_assert(strstr(out, "(default: 0.2; 0 for xor") && strstr(out, "(default: 32)") &&
              strstr(out, "(default: 100:relu,10:softmax)") && strstr(out, "--shards") &&
              strstr(out, "--history") && strstr(out, "--nesterov"), "%s", out);
    EXPECT_RUN("evaluate --help", 0, "--model FILE");
    EXPECT_RUN("summary --help", 0, "--layers");
    EXPECT_RUN("bench --help", 0, "usage: omptrain bench [FLAGS]");
    cr_assert(strstr(out, "--time-to-accuracy") && strstr(out, "pytorch_mlp.py"), "%s", out);
}

/* `omptrain bench` is the suite of bench/ (tests/test_bench.c tests it as
 * the program `bench`): its flags checked, a tiny mode run */
Test(cli, bench_is_a_command)
{
    EXPECT_RUN("bench --threads 0", 2, "omptrain: error: --threads: 0 is out of range");
    char args[512];
    snprintf(args, sizeof args, "bench --peer none --data synthetic --models 784-16-10 "
             "--batch 16 --threads 1 --reps 1 --seconds 0.02 --out %s/grid", dir);
    EXPECT_RUN(args, 0, "samples/s");
    /* its messages name the program that runs it */
    snprintf(args, sizeof args, "bench --replot --out %s/none", dir);
    EXPECT_RUN(args, 1, "omptrain: cannot read");
}

Test(cli, bad_flags_and_values_name_themselves)
{
    EXPECT_RUN("", 2, "usage");
    EXPECT_RUN("frobnicate", 2, "unknown command 'frobnicate' (expected train, search, "
                                "evaluate, predict, show, summary or bench");
    EXPECT_RUN("train --bogus 3", 2, "unknown flag '--bogus'");
    EXPECT_RUN("train --epochs", 2, "--epochs needs a value");
    EXPECT_RUN("train --epochs x", 2, "--epochs: 'x' is not a whole number");
    EXPECT_RUN("train --epochs 0", 2, "--epochs: 0 is out of range 1..1000000");
    EXPECT_RUN("train --batch 99999999", 2, "--batch: 99999999 is out of range 1..16777216");
    EXPECT_RUN("train --batch -5", 2, "--batch: '-5'");
    EXPECT_RUN("train --threads 0", 2, "--threads: '0' is not auto or a number in 1..1024");
    EXPECT_RUN("train --threads many", 2, "--threads: 'many' is not auto");
    EXPECT_RUN("train --validation-split 1.5", 2, "--validation-split: 1.5 is out of range");
    EXPECT_RUN("train --validation-split nan", 2, "--validation-split: 'nan' is not a number");
    EXPECT_RUN("train --lr=abc", 2, "--lr: 'abc' is not a number");
    EXPECT_RUN("train --optimizer adamw", 2, "unknown optimizer 'adamw'");
    EXPECT_RUN("train --layers 100:swish,10:softmax", 2, "unknown activation 'swish'");
    EXPECT_RUN("train --layers 0:relu,10:softmax", 2, "'0' is not a number of units");
    EXPECT_RUN("train --layers 100:relu,", 2, "trailing ','");
    EXPECT_RUN("train --optimizer sgd --nesterov", 2, "--nesterov needs --momentum");
    EXPECT_RUN("train --nesterov", 2, "--nesterov does not apply to --optimizer adam");
    EXPECT_RUN("train --optimizer sgd --beta1 0.8", 2, "--beta1 does not apply to --optimizer sgd");
    EXPECT_RUN("train --optimizer adam --rho 0.5", 2, "--rho does not apply to --optimizer adam");
    EXPECT_RUN("train --data mnist", 2, "unknown data 'mnist'");
    EXPECT_RUN("train --quiet=1", 2, "--quiet takes no value");
    EXPECT_RUN("evaluate", 2, "--model FILE is required");
    EXPECT_RUN("train stray", 2, "unexpected argument 'stray'");
}

Test(cli, bad_data_fails_cleanly)
{
    char args[1024];
    snprintf(args, sizeof args, "train --data idx:%s/none --epochs 1", dir);
    EXPECT_RUN(args, 1, "cannot open");
    /* bad magic */
    char sub[400], p[512];
    snprintf(sub, sizeof sub, "%s/magic", dir);
    mkdir(sub, 0755);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", sub);
    th_idx_images(p, 0x1234, 10, 8, 8, 640, 0);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", sub);
    th_idx_labels(p, 0x801, 10, 10, 4, 0);
    snprintf(args, sizeof args, "train --data idx:%s --epochs 1", sub);
    EXPECT_RUN(args, 1, "bad magic 0x00001234, expected 0x00000803");
    /* truncated images */
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", sub);
    th_idx_images(p, 0x803, 10, 8, 8, 600, 0);
    EXPECT_RUN(args, 1, "truncated");
    /* counts differ */
    th_idx_images(p, 0x803, 10, 8, 8, 640, 0);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", sub);
    th_idx_labels(p, 0x801, 9, 9, 4, 0);
    EXPECT_RUN(args, 1, "9 labels for the 10 images");
    /* labels beyond the model's classes: the last one is 11 */
    unsigned char lab[18] = {0, 0, 8, 1, 0, 0, 0, 10, 0, 1, 2, 3, 0, 1, 2, 3, 0, 11};
    th_write(p, lab, sizeof lab, 0);
    snprintf(args, sizeof args, "train --data idx:%s --epochs 1 --batch 4", sub);
    EXPECT_RUN(args, 1, "outside the model's 10 classes");
    /* a corrupt model file */
    snprintf(p, sizeof p, "%s/junk.otm", dir);
    th_write(p, "junk", 4, 0);
    snprintf(args, sizeof args, "evaluate --model %s --data idx:%s", p, sub);
    EXPECT_RUN(args, 1, "not an omptrain model file");
}

/* The training line names the cut of the steps: a wide layer and a small
 * batch on two shards are cut by units. */
Test(cli, train_says_how_steps_are_cut)
{
    write_idx("small", "train", 400);
    char args[1024];
    snprintf(args, sizeof args,
             "train --data idx:%s/small --layers 64:relu,4:softmax --epochs 1 "
             "--batch 16 --threads 1 --shards 2 --validation-split 0",
             dir);
    EXPECT_RUN(args, 0, "1 thread, 2 shards (steps cut by units)");
    snprintf(args, sizeof args,
             "train --data idx:%s/small --layers 64:relu,4:softmax --epochs 1 "
             "--batch 16 --threads 1 --shards 1 --validation-split 0",
             dir);
    EXPECT_RUN(args, 0, ", 1 thread, 1 shard (steps cut by rows)");
    cr_assert(strstr(out, "400 samples of 64 features from idx:") && strstr(out, "; 400 train, 0 "
              "validate; 64-64-4"), "%s", out);
    /* the default split: a fifth held out, but none of XOR's four samples */
    snprintf(args, sizeof args, "train --data idx:%s/small --layers 8:relu,4:softmax --epochs 1",
             dir);
    EXPECT_RUN(args, 0, "; 320 train, 80 validate; ");
    EXPECT_RUN("train --data xor --epochs 1", 0, "4 samples of 2 features from xor; 4 train, "
                                                  "0 validate; ");
    /* a data file beyond --max-memory: refused before it is read */
    snprintf(args, sizeof args, "train --data idx:%s/small --max-memory 0.00001", dir);
    EXPECT_RUN(args, 1, "more than the memory limit of 1e-05 GB");
    write_idx("small", "t10k", 400);
    snprintf(args, sizeof args, "train --data idx:%s/small --layers 8:relu,4:softmax --epochs 1 "
             "--save %s/mm.otm --quiet", dir, dir);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "evaluate --model %s/mm.otm --data idx:%s/small "
             "--max-memory 1e-5", dir, dir);
    EXPECT_RUN(args, 1, "more than the memory limit of 1e-05 GB");
}

Test(cli, train_history_save_evaluate_summary)
{
    write_idx("small", "train", 400);
    write_idx("small", "t10k", 100);
    char args[2048], hist[400], model[400];
    snprintf(hist, sizeof hist, "%s/h.csv", dir);
    snprintf(model, sizeof model, "%s/m.otm", dir);
    snprintf(args, sizeof args,
             "train --data idx:%s/small --layers 16:relu,4:softmax --epochs 3 "
             "--batch 16 --threads 2 --shards 4 --history %s --save %s",
             dir, hist, model);
    EXPECT_RUN(args, 0, "Epoch 3/3");
    cr_assert(strstr(out, "val_accuracy") && strstr(out, "samples/s") &&
              strstr(out, "2 threads, 4 shards (steps cut by rows)"), "%s", out);
    cr_assert(strchr(out, '\r') == NULL, "carriage returns in piped output");
    unsigned char buf[4096];
    size_t n = th_read(hist, buf, sizeof buf - 1);
    buf[n] = 0;
    const char *header = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,samples_per_second,"
                         "comm_seconds,threads\n";
    cr_assert(strncmp((char *)buf, header, strlen(header)) == 0, "%s", buf);
    snprintf(args, sizeof args, "evaluate --model %s --data idx:%s/small", model, dir);
    EXPECT_RUN(args, 0, "100 samples - loss: ");
    double acc = 0;
    const char *a = strstr(out, "accuracy: ");
    cr_assert(a && sscanf(a, "accuracy: %lf", &acc) == 1);
    cr_assert_geq(acc, 0.9, "the small problem was not learnt: %s", out);
    snprintf(args, sizeof args, "summary --model %s", model);
    EXPECT_RUN(args, 0, "Total params: 1,108");
    EXPECT_RUN("summary", 0, "Total params: 79,510");
    /* --quiet prints nothing on success */
    snprintf(args, sizeof args,
             "train --data idx:%s/small --layers 4:softmax --epochs 1 --quiet", dir);
    EXPECT_RUN(args, 0, "");
    cr_assert_eq(out[0], '\0', "quiet printed: %s", out);
}

Test(cli, threads_are_honoured_exactly)
{
    write_idx("lim", "train", 100);
    char args[1024];
    snprintf(args, sizeof args, "train --data idx:%s/lim --layers 4:softmax --epochs 1 "
             "--threads 2 --quiet", dir);
    int rc = run_env("OMP_THREAD_LIMIT=1", args);
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, out);
    cr_assert(strstr(out, "asked OpenMP for 2 threads and got 1") != NULL, "%s", out);
}

Test(cli, same_weights_whatever_the_threads)
{
    write_idx("det", "train", 300);
    char args[2048], a[400], b[400];
    snprintf(a, sizeof a, "%s/a.otm", dir);
    snprintf(b, sizeof b, "%s/b.otm", dir);
    snprintf(args, sizeof args, "train --data idx:%s/det --layers 8:sigmoid,4:softmax "
             "--epochs 2 --batch 20 --shards 4 --threads 1 --quiet --save %s", dir, a);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/det --layers 8:sigmoid,4:softmax "
             "--epochs 2 --batch 20 --shards 4 --threads 3 --quiet --save %s", dir, b);
    EXPECT_RUN(args, 0, "");
    static unsigned char ba[1 << 16], bb[1 << 16];
    size_t na = th_read(a, ba, sizeof ba), nb = th_read(b, bb, sizeof bb);
    cr_assert(na > 0 && na == nb && memcmp(ba, bb, na) == 0,
              "model files differ between 1 and 3 threads");
}

/* --class-weight: weights of 1 write the unweighted model, others another;
 * a list of the wrong length or a bad weight is refused by name. */
Test(cli, class_weights_from_the_command_line)
{
    write_idx("cw", "train", 300);
    char args[2048], a[400], b[400], c[400];
    snprintf(a, sizeof a, "%s/a.otm", dir);
    snprintf(b, sizeof b, "%s/b.otm", dir);
    snprintf(c, sizeof c, "%s/c.otm", dir);
    const char *common = "--layers 8:relu,4:softmax --epochs 2 --batch 20 --shards 2 --quiet";
    snprintf(args, sizeof args, "train --data idx:%s/cw %s --save %s", dir, common, a);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/cw %s --class-weight 1,1,1,1 --save %s",
             dir, common, b);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/cw %s --class-weight 1,4,1,0.5 --save %s",
             dir, common, c);
    EXPECT_RUN(args, 0, "");
    static unsigned char ba[1 << 16], bb[1 << 16], bc[1 << 16];
    size_t na = th_read(a, ba, sizeof ba), nb = th_read(b, bb, sizeof bb),
           nc = th_read(c, bc, sizeof bc);
    cr_assert(na > 0 && na == nb && memcmp(ba, bb, na) == 0, "weights of 1 changed the model");
    cr_assert(na != nc || memcmp(ba, bc, na) != 0, "the class weights did nothing");
    snprintf(args, sizeof args, "train --data idx:%s/cw %s --class-weight 1,2", dir, common);
    EXPECT_RUN(args, 1, "2 class weights for the model's 4 classes");
    snprintf(args, sizeof args, "train --data idx:%s/cw %s --class-weight 1,-2", dir, common);
    EXPECT_RUN(args, 2, "--class-weight: '1,-2' is not a list of weights >= 0");
}

static void write_text(const char *name, const char *text, char *out_path, size_t size)
{
    snprintf(out_path, size, "%s/%s", dir, name);
    th_write(out_path, text, strlen(text), 0);
}

/* y = 2 a - b + 0.5 and a class from the sign of a - b, 200 rows */
static void write_regression_csv(char *out_path, size_t size)
{
    static char text[1 << 16];
    size_t n = (size_t)snprintf(text, sizeof text, "a,b,y\n");
    for (int i = 0; i < 200; i++) {
        double a = sin(0.37 * i), b = cos(0.91 * i);
        n += (size_t)snprintf(text + n, sizeof text - n, "%.6f,%.6f,%.6f\n", a, b,
                              2 * a - b + 0.5);
    }
    write_text("reg.csv", text, out_path, size);
}

Test(cli, xor_builtin_learns)
{
    EXPECT_RUN("train --data xor --layers 8:relu,2:softmax --lr 0.05 --epochs 300 "
               "--batch 4 --validation-split 0 --quiet", 0, "");
}

Test(cli, csv_regression_predict_evaluate)
{
    char csv[400], model[400], preds[400], args[2048];
    write_regression_csv(csv, sizeof csv);
    snprintf(model, sizeof model, "%s/reg.otm", dir);
    snprintf(preds, sizeof preds, "%s/preds.csv", dir);
    snprintf(args, sizeof args,
             "train --data csv:%s --loss mse --layers 16:tanh,1:linear --scale standard "
             "--lr 0.01 --epochs 80 --batch 16 --save %s", csv, model);
    EXPECT_RUN(args, 0, "val_mae");
    snprintf(args, sizeof args, "evaluate --model %s --test-data csv:%s", model, csv);
    EXPECT_RUN(args, 0, "200 samples - loss: ");
    double mae = 1;
    const char *p = strstr(out, "mae: ");
    cr_assert(p && sscanf(p, "mae: %lf", &mae) == 1, "%s", out);
    cr_assert_lt(mae, 0.15, "%s", out);
    cr_assert(strstr(out, "confusion") == NULL, "a regression has no confusion matrix");
    snprintf(args, sizeof args, "predict --model %s --data csv:%s --output %s", model, csv, preds);
    EXPECT_RUN(args, 0, "wrote 200 predictions");
    static unsigned char buf[1 << 16];
    size_t n = th_read(preds, buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert(strncmp((char *)buf, "y0\n", 3) == 0, "%.40s", buf);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    cr_assert_eq(lines, 201);
    /* features only: the same predictions */
    char feats[400], preds2[400];
    static char text[1 << 16];
    size_t k = 0;
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%.6f,%.6f\n", sin(0.37 * i),
                              cos(0.91 * i));
    write_text("feats.csv", text, feats, sizeof feats);
    snprintf(preds2, sizeof preds2, "%s/preds2.csv", dir);
    snprintf(args, sizeof args, "predict --model %s --data csv:%s --output %s", model, feats, preds2);
    EXPECT_RUN(args, 0, "wrote 200 predictions");
    static unsigned char buf2[1 << 16];
    size_t n2 = th_read(preds2, buf2, sizeof buf2);
    cr_assert(n == n2 && memcmp(buf, buf2, n) == 0);
    /* the umask decides the mode; a FIFO is refused, not replaced */
    struct stat st;
    snprintf(args, sizeof args, "predict --model %s --data csv:%s --output %s", model, feats,
             preds2);
    cr_assert_eq(run_env("umask 022;", args), 0, "%s", out);
    cr_assert(stat(preds2, &st) == 0 && (st.st_mode & 0777) == 0644, "mode %o",
              (unsigned)(st.st_mode & 0777));
    snprintf(args, sizeof args, "predict --model %s --data csv:%s --output %s", model, feats,
             preds2);
    cr_assert_eq(run_env("umask 077;", args), 0, "%s", out);
    cr_assert(stat(preds2, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o",
              (unsigned)(st.st_mode & 0777));
    char fifo[400];
    snprintf(fifo, sizeof fifo, "%s/out.fifo", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    snprintf(args, sizeof args, "predict --model %s --data csv:%s --output %s", model, feats,
             fifo);
    EXPECT_RUN(args, 1, "out.fifo: not a regular file");
    cr_assert(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    /* data of another width: one error, naming the call once */
    char wide[400];
    write_text("wide.csv", "1,2,3,0.5\n4,5,6,0.25\n", wide, sizeof wide);
    snprintf(args, sizeof args, "evaluate --model %s --test-data csv:%s", model, wide);
    EXPECT_RUN(args, 1, "evaluate: 3 features per sample, the model takes 2");
    cr_assert(strstr(out, "evaluate: evaluate:") == NULL, "%s", out);
}

Test(cli, classifier_confusion_matrix_plot_and_early_stopping)
{
    write_idx("cm", "train", 400);
    write_idx("cm", "t10k", 100);
    char args[2048], model[400], svg[400], preds[400];
    snprintf(model, sizeof model, "%s/cm.otm", dir);
    snprintf(svg, sizeof svg, "%s/cm.svg", dir);
    snprintf(preds, sizeof preds, "%s/cm.csv", dir);
    snprintf(args, sizeof args,
             "train --data idx:%s/cm --layers flatten,16:gelu:he_normal,4:softmax "
             "--optimizer rmsprop --epochs 30 --batch 16 --early-stopping --patience 2 "
             "--monitor val_loss --min-delta 0.5 --plot %s --save %s", dir, svg, model);
    EXPECT_RUN(args, 0, "early stopping: best epoch 1 (its weights are kept)");
    cr_assert(strstr(out, "Epoch 3/30") && !strstr(out, "Epoch 4/30"), "%s", out);
    unsigned char head[64];
    size_t n = th_read(svg, head, sizeof head - 1);
    head[n] = 0;
    cr_assert(strncmp((char *)head, "<?xml", 5) == 0);
    snprintf(args, sizeof args, "evaluate --model %s --data idx:%s/cm", model, dir);
    EXPECT_RUN(args, 0, "confusion matrix (rows: true class, columns: predicted class)");
    cr_assert(strstr(out, "recall") != NULL);
    snprintf(args, sizeof args, "predict --model %s --data idx:%s/cm --output %s", model, dir, preds);
    EXPECT_RUN(args, 0, "wrote 100 predictions");
    static unsigned char buf[1 << 16];
    n = th_read(preds, buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert(strncmp((char *)buf, "p0,p1,p2,p3,class\n", 18) == 0, "%.40s", buf);
    snprintf(args, sizeof args, "summary --model %s", model);
    EXPECT_RUN(args, 0, "flatten (Flatten)");
}

Test(cli, resume_gives_the_same_file_as_an_uninterrupted_run)
{
    write_idx("res", "train", 300);
    char args[2048], full[400], half[400], resumed[400];
    snprintf(full, sizeof full, "%s/full.otm", dir);
    snprintf(half, sizeof half, "%s/half.otm", dir);
    snprintf(resumed, sizeof resumed, "%s/resumed.otm", dir);
    const char *common = "--layers 12:relu,4:softmax --optimizer sgd --momentum 0.9 "
                         "--nesterov --batch 20 --shards 3 --quiet";
    snprintf(args, sizeof args, "train --data idx:%s/res %s --epochs 4 --save %s", dir, common, full);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/res %s --epochs 2 --save %s", dir, common, half);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/res --resume %s --epochs 4 --batch 20 "
             "--shards 3 --threads 1 --quiet --save %s", dir, half, resumed);
    EXPECT_RUN(args, 0, "");
    static unsigned char a[1 << 16], b[1 << 16];
    size_t na = th_read(full, a, sizeof a), nb = th_read(resumed, b, sizeof b);
    cr_assert(na > 0 && na == nb && memcmp(a, b, na) == 0,
              "the resumed run's file differs from the uninterrupted run's");
    snprintf(args, sizeof args, "train --data idx:%s/res --resume %s --layers 4:softmax", dir, half);
    EXPECT_RUN(args, 2, "has --layers 12:relu:glorot_uniform,4:softmax:glorot_uniform, the "
                        "command 4:softmax:glorot_uniform");
    snprintf(args, sizeof args, "train --data idx:%s/res --resume %s --lr 0.1", dir, half);
    EXPECT_RUN(args, 2, "has --lr 0.01, the command 0.1");
    snprintf(args, sizeof args, "train --data idx:%s/res --resume %s --epochs 2", dir, half);
    EXPECT_RUN(args, 1, "nothing to train");
}

/* A FIFO given as data or model is refused at once (open() used to wait
 * for a writer forever), and a symlink loop is named as one. */
Test(cli, fifos_and_symlink_loops_are_refused_without_waiting)
{
    char p[512], q[512], args[1024];
    snprintf(p, sizeof p, "%s/fifo", dir);
    cr_assert_eq(mkfifo(p, 0600), 0);
    snprintf(args, sizeof args, "train --data csv:%s", p);
    cr_assert_eq(run_env("timeout 20", args), 1, "%s", out);
    cr_assert(strstr(out, "fifo: not a regular file") != NULL, "%s", out);
    snprintf(args, sizeof args, "evaluate --model %s", p);
    cr_assert_eq(run_env("timeout 20", args), 1, "%s", out);
    cr_assert(strstr(out, "fifo: not a regular file") != NULL, "%s", out);
    snprintf(q, sizeof q, "%s/idx", dir);
    mkdir(q, 0700);
    snprintf(p, sizeof p, "%s/idx/train-images-idx3-ubyte", dir);
    cr_assert_eq(mkfifo(p, 0600), 0);
    snprintf(p, sizeof p, "%s/idx/train-labels-idx1-ubyte", dir);
    th_write(p, "", 0, 0);
    snprintf(args, sizeof args, "train --data idx:%s", q);
    cr_assert_eq(run_env("timeout 20", args), 1, "%s", out);
    cr_assert(strstr(out, "train-images-idx3-ubyte: not a regular file") != NULL, "%s", out);
    snprintf(p, sizeof p, "%s/loop1", dir);
    snprintf(q, sizeof q, "%s/loop2", dir);
    cr_assert(symlink(q, p) == 0 && symlink(p, q) == 0);
    snprintf(args, sizeof args, "train --data idx:%s", p);
    EXPECT_RUN(args, 1, "Too many levels of symbolic links");
}

/* The same command run again with --resume added: the model flags that
 * agree with the file are taken, one that differs is named with both. */
Test(cli, resume_takes_the_flags_that_agree_with_the_file)
{
    write_idx("small", "train", 200);
    char args[1024], model[400];
    snprintf(model, sizeof model, "%s/r.otm", dir);
    const char *flags = "--layers 8:relu,4:softmax --optimizer sgd --lr 0.05 --momentum 0.5";
    snprintf(args, sizeof args, "train --data idx:%s/small %s --epochs 1 --save %s --quiet",
             dir, flags, model);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/small %s --epochs 2 --resume %s", dir,
             flags, model);
    EXPECT_RUN(args, 0, "Epoch 2/2");
    snprintf(args, sizeof args, "train --data idx:%s/small --epochs 2 --resume %s "
             "--optimizer sgd --lr 0.02", dir, model);
    EXPECT_RUN(args, 2, "has --lr 0.05, the command 0.02");
    snprintf(args, sizeof args, "train --data idx:%s/small --epochs 2 --resume %s "
             "--layers 16:relu,4:softmax", dir, model);
    EXPECT_RUN(args, 2, "has --layers 8:relu:glorot_uniform,4:softmax:glorot_uniform, the "
                        "command 16:relu:glorot_uniform,4:softmax:glorot_uniform");
    snprintf(args, sizeof args, "train --data idx:%s/small --epochs 2 --resume %s "
             "--optimizer adam", dir, model);
    EXPECT_RUN(args, 2, "has --optimizer sgd, the command adam");
    snprintf(args, sizeof args, "train --data idx:%s/small --epochs 2 --resume %s "
             "--loss categorical_crossentropy", dir, model);
    EXPECT_RUN(args, 2, "has --loss sparse_categorical_crossentropy, the command "
                        "categorical_crossentropy");
}

Test(cli, more_bad_flags_and_files)
{
    EXPECT_RUN("train --loss hinge", 2, "unknown loss 'hinge'");
    EXPECT_RUN("train --scale zscore", 2, "unknown scaling 'zscore'");
    EXPECT_RUN("train --monitor val_f1", 2, "--monitor: 'val_f1' is not loss, a metric");
    EXPECT_RUN("train --lr-schedule cosine", 2, "unknown schedule 'cosine'");
    EXPECT_RUN("train --layers 10:relu:orthogonal,10:softmax", 2, "unknown initializer 'orthogonal'");
    EXPECT_RUN("train --layers 10:relu,flatten", 2, "flatten must come first");
    EXPECT_RUN("train --label-column x", 2, "--label-column: 'x' is not a list");
    EXPECT_RUN("train --seed ' -1'", 2, "--seed: ' -1' is not a whole number");
    EXPECT_RUN("train --shards 64 --batch 32", 2, "--shards 64 for --batch 32: at most one");
    /* more shards than the samples a batch can hold: refused before any
     * shard's buffers are made (4096 of them took 658 MB) */
    EXPECT_RUN("train --data xor --batch 65536 --shards 65536", 1,
               "65536 shards for a batch of 4 (all the training samples)");
    /* every output is checked before training: nothing trained for nothing */
    EXPECT_RUN("train --data xor --history /nonexistent/h.csv", 1,
               "--history: /nonexistent/h.csv: cannot write in /nonexistent");
    EXPECT_RUN("train --data xor --plot /tmp", 1, "--plot: /tmp: a folder, not a file");
    EXPECT_RUN("train --data xor --save /dev/null", 1, "--save: /dev/null: not a regular file");
    EXPECT_RUN("train --data xor --checkpoint /nonexistent/c.otm", 1, "--checkpoint: ");
    EXPECT_RUN("train --data xor --save-best /nonexistent/b.otm", 1, "--save-best: ");
    EXPECT_RUN("predict --model m.otm --data xor --output /nonexistent/p.csv", 1,
               "--output: /nonexistent/p.csv: cannot write in /nonexistent");
    /* the default shards (the threads) never outnumber the batch: SGD one sample a step */
    EXPECT_RUN("train --data xor --batch 1 --epochs 1 --threads 2 --validation-split 0", 0,
               "batch 1, 2 threads, 1 shard");
    EXPECT_RUN("train --validation-split 0.1 --validation-data xor", 2,
               "--validation-split and --validation-data: give one of them");
    EXPECT_RUN("predict --model m.otm", 2, "--model and either --data with --output, or --image, are required");
    char csv[400], args[1024];
    write_text("ragged.csv", "a,b,c\n1,2,0\n3,4\n", csv, sizeof csv);
    snprintf(args, sizeof args, "train --data csv:%s", csv);
    EXPECT_RUN(args, 1, "ragged.csv:3: 2 fields, expected 3");
    write_text("nan.csv", "1,2,0\n3,abc,1\n", csv, sizeof csv);
    snprintf(args, sizeof args, "train --data csv:%s", csv);
    EXPECT_RUN(args, 1, "nan.csv:2:2: 'abc' is not a finite number");
    write_text("cls.csv", "1,2,0\n3,4,1\n5,6,1\n7,8,0\n", csv, sizeof csv);
    snprintf(args, sizeof args, "train --data csv:%s --loss binary_crossentropy --batch 2", csv);
    EXPECT_RUN(args, 1, "binary_crossentropy needs a sigmoid last layer, not softmax");
    snprintf(args, sizeof args, "train --data csv:%s --layers 3:softmax --batch 2 "
             "--validation-split 0 --early-stopping", csv);
    EXPECT_RUN(args, 1, "no validation data");
}

#include <signal.h>

/* Starts omptrain with args (split on spaces) writing into a pipe; returns
 * its pid and the pipe's read end. */
static pid_t spawn(char *args, int *out_fd)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char *argv[64];
        int n = 0;
        argv[n++] = (char *)getenv("OMPTRAIN_BIN");
        for (char *tok = strtok(args, " "); tok && n < 63; tok = strtok(NULL, " "))
            argv[n++] = tok;
        argv[n] = NULL;
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

/* Reads the child's output until `needle` shows up (or EOF). */
static size_t read_until(int fd, const char *needle)
{
    size_t n = 0;
    out[0] = 0;
    while (strstr(out, needle) == NULL && n < sizeof out - 1) {
        ssize_t r = read(fd, out + n, sizeof out - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        out[n] = 0;
    }
    return n;
}

/* stream: the interrupted run and its resume stream the data (by pread: a
 * memory limit below the map's), the run never interrupted reads it whole */
static void interrupt_and_resume(int signo, int stream)
{
    write_idx("sig", "train", 2000);
    char args[2048], ck[400], resumed[400], straight[400], how[600] = "";
    if (stream)
        snprintf(how, sizeof how, "--stream --max-memory 0.0004 --cache-dir %s/c", dir);
    snprintf(ck, sizeof ck, "%s/ck.otm", dir);
    snprintf(resumed, sizeof resumed, "%s/resumed.otm", dir);
    snprintf(straight, sizeof straight, "%s/straight.otm", dir);
    snprintf(args, sizeof args, "train --data idx:%s/sig --layers 64:relu,4:softmax "
             "--epochs 1000000 --batch 8 --shards 2 --checkpoint %s --checkpoint-every 1000 %s",
             dir, ck, how);
    int fd;
    pid_t pid = spawn(args, &fd);
    read_until(fd, "Epoch 3/");
    cr_assert(strstr(out, "Epoch 3/") != NULL, "no third epoch: %s", out);
    kill(pid, signo);
    size_t n = strlen(out);
    for (ssize_t r; (r = read(fd, out + n, sizeof out - 1 - n)) > 0;)
        n += (size_t)r;
    out[n] = 0;
    close(fd);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st), "killed instead of stopping cleanly:\n%s", out);
    cr_assert_eq(WEXITSTATUS(st), 128 + signo, "exit %d:\n%s", WEXITSTATUS(st), out);
    const char *msg = strstr(out, "interrupted by ");
    cr_assert(msg != NULL && strstr(out, signo == SIGINT ? "SIGINT" : "SIGTERM"), "%s", out);
    size_t epoch = 0, step = 0;
    cr_assert(sscanf(strstr(msg, "at epoch"), "at epoch %zu, step %zu", &epoch, &step) == 2,
              "%s", msg);
    /* resume to two epochs later; the same as a run never interrupted */
    snprintf(args, sizeof args, "train --data idx:%s/sig --resume %s --epochs %zu --quiet "
             "--threads 1 --save %s %s", dir, ck, epoch + 1, resumed, how);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data idx:%s/sig --layers 64:relu,4:softmax "
             "--epochs %zu --batch 8 --shards 2 --quiet --save %s", dir, epoch + 1, straight);
    EXPECT_RUN(args, 0, "");
    static unsigned char a[1 << 17], b[1 << 17];
    size_t na = th_read(resumed, a, sizeof a), nb = th_read(straight, b, sizeof b);
    cr_assert(na > 0 && na == nb && memcmp(a, b, na) == 0,
              "interrupted at epoch %zu step %zu and resumed: the weights differ", epoch, step);
}

Test(cli, sigint_stops_saves_and_resumes_bit_for_bit) { interrupt_and_resume(SIGINT, 0); }

Test(cli, sigterm_stops_saves_and_resumes_bit_for_bit) { interrupt_and_resume(SIGTERM, 0); }

Test(cli, a_streamed_run_stopped_inside_an_epoch_resumes_bit_for_bit)
{
    interrupt_and_resume(SIGINT, 1);
}
