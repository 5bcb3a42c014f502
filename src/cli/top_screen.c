/* SPDX-License-Identifier: MIT */
/*
 * src/cli/top_screen.c - owns the full-screen view of `shmetrics top`
 * (ncurses): the header, the rows, the keys (q, /, s, arrows and page
 * keys), a refresh every interval, and the terminal given back as it was
 * on every way out: q, SIGINT, SIGTERM, SIGHUP, the arena removed or
 * unreadable.
 */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <time.h>

#include "top.h"

/* Two lines of the arena, one of the collector (with --collector), one of
 * the keys, the column names. */
static int header_lines;

static volatile sig_atomic_t stop_signal;
static bool screen_on;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* The last resort: whatever ends the process gives the terminal back. */
static void restore_terminal(void)
{
    if (screen_on) {
        endwin();
        screen_on = false;
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct view {
    size_t top; /* the first row shown */
    bool prompting;
    char input[256];
    size_t ninput;
    char status[512]; /* a message for the key line: a bad filter */
};

static int page_rows(void)
{
    int n = LINES - header_lines - 1;
    return n > 1 ? n : 1;
}

static void draw(const struct top_model *m, struct view *v)
{
    erase();
    char l1[1024], l2[1024];
    top_header(m, l1, l2, sizeof l1);
    mvaddnstr(0, 0, l1, COLS);
    mvaddnstr(1, 0, l2, COLS);
    if (m->collector)
        mvaddnstr(2, 0, m->collector->line, COLS);
    char keys[1024];
    if (v->prompting)
        snprintf(keys, sizeof keys, "filter (a regular expression; Enter applies, Esc cancels): %s", v->input);
    else if (v->status[0])
        snprintf(keys, sizeof keys, "%s", v->status);
    else
        snprintf(keys, sizeof keys,
                 "%zu of %zu rows, read in %.1f ms  q quit  / filter  s sort  arrows, PgUp, PgDn scroll", m->nshown,
                 m->nrows, m->refresh_ms);
    mvaddnstr(header_lines - 2, 0, keys, COLS);

    size_t rows = (size_t)page_rows();
    if (v->top + rows > m->nshown)
        v->top = m->nshown > rows ? m->nshown - rows : 0;
    /* The name column: as wide as the longest name on the page, leaving
     * room for the numbers. */
    int w = 4, room = COLS - 52;
    for (size_t i = v->top; i < m->nshown && i < v->top + rows; i++) {
        int len = (int)strlen(m->rows[m->shown[i]].key);
        w = len > w ? len : w;
    }
    if (w > room)
        w = room > 10 ? room : 10;
    char line[4096];
    attron(A_REVERSE);
    snprintf(line, sizeof line, "%-*s %-9s %14s %12s %-*s", w, "NAME", "TYPE", "VALUE", "RATE/s",
             COLS > w + 39 ? COLS - w - 39 : 0, "DETAIL");
    mvaddnstr(header_lines - 1, 0, line, COLS);
    attroff(A_REVERSE);
    for (size_t i = 0; i < rows && v->top + i < m->nshown; i++) {
        const struct top_row *r = &m->rows[m->shown[v->top + i]];
        char type[512], value[512], rate[512], detail[512], name[512];
        top_cells(r, type, value, rate, detail, sizeof detail);
        int len = (int)strlen(r->key);
        if (len > w) /* cut in the middle: the name and the last labels both show */
            snprintf(name, sizeof name, "%.*s~%s", w / 2 - 1, r->key, r->key + len - (w - w / 2));
        else
            snprintf(name, sizeof name, "%s", r->key);
        snprintf(line, sizeof line, "%-*s %-9s %14s %12s %s", w, name, type, value, rate, detail);
        mvaddnstr(header_lines + (int)i, 0, line, COLS);
    }
    refresh();
}

/* A key while the filter is typed. */
static void prompt_key(struct top_model *m, struct view *v, int ch)
{
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        v->prompting = false;
        v->input[v->ninput] = 0;
        if (top_model_filter(m, v->input) < 0)
            snprintf(v->status, sizeof v->status, "%s", m->err);
        v->top = 0;
    } else if (ch == 27) { /* Esc */
        v->prompting = false;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (v->ninput)
            v->input[--v->ninput] = 0;
    } else if (ch >= 32 && ch < 256 && v->ninput + 1 < sizeof v->input) {
        v->input[v->ninput++] = (char)ch;
        v->input[v->ninput] = 0;
    }
}

/* A key of the view; false for q. */
static bool view_key(struct top_model *m, struct view *v, int ch)
{
    size_t page = (size_t)page_rows();
    switch (ch) {
    case 'q':
    case 'Q':
        return false;
    case '/':
        v->prompting = true;
        v->status[0] = 0;
        snprintf(v->input, sizeof v->input, "%s", m->filter);
        v->ninput = strlen(v->input);
        break;
    case 's':
    case 'S':
        m->sort = (enum top_sort)((m->sort + 1) % TOP_NSORTS);
        top_model_order(m);
        v->top = 0;
        break;
    case KEY_DOWN:
        v->top++;
        break;
    case KEY_UP:
        v->top -= v->top > 0;
        break;
    case KEY_NPAGE:
    case ' ':
        v->top += page;
        break;
    case KEY_PPAGE:
        v->top = v->top > page ? v->top - page : 0;
        break;
    case KEY_HOME:
        v->top = 0;
        break;
    case KEY_END:
        v->top = m->nshown;
        break;
    default:
        break;
    }
    return true;
}

int top_screen(struct top_model *m, const struct top_opts *o)
{
    if (top_model_read(m) < 0) {
        fprintf(stderr, "shmetrics top: %s\n", m->err);
        return EXIT_FAIL;
    }
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    atexit(restore_terminal);
    /* newterm, not initscr: initscr ends the process on a terminal it
     * does not know, without our message.  The terminal is looked up
     * first (setupterm), since a newterm that fails leaves what it
     * allocated behind. */
    int term_err = 0;
    bool known = setupterm(NULL, fileno(stdout), &term_err) == OK;
    if (known)
        del_curterm(cur_term);
    SCREEN *scr = known ? newterm(NULL, stdout, stdin) : NULL;
    if (scr == NULL) {
        fprintf(stderr, "shmetrics top: the terminal (TERM=%s) cannot be driven; --batch prints text\n",
                getenv("TERM") ? getenv("TERM") : "");
        return EXIT_FAIL;
    }
    screen_on = true;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(50);
    timeout(100); /* getch waits at most 100 ms: signals and refreshes are seen */

    header_lines = m->collector ? 5 : 4;
    struct view v = {0};
    int status = EXIT_OK;
    char failure[600] = "";
    uint64_t next = mono_ms() + o->interval_ms;
    draw(m, &v);
    while (!stop_signal) {
        int ch = getch();
        if (ch != ERR) {
            if (v.prompting)
                prompt_key(m, &v, ch);
            else if (!view_key(m, &v, ch))
                break;
            draw(m, &v);
        }
        if (mono_ms() >= next) {
            if (top_model_read(m) < 0) {
                snprintf(failure, sizeof failure, "%s", m->err);
                status = EXIT_FAIL;
                break;
            }
            next += o->interval_ms;
            if (next < mono_ms()) /* fell behind: the next refresh one interval from now */
                next = mono_ms() + o->interval_ms;
            draw(m, &v);
        }
    }
    restore_terminal();
    delscreen(scr);
    if (failure[0])
        fprintf(stderr, "shmetrics top: %s\n", failure);
    return status;
}
