// What the window shows of the server's work: the current Python file's score
// and quality gate in a LanguageStatusItem, busy while the server reports
// progress (a workspace scan), and that progress in the status bar.
import {
    Disposable,
    Event,
    LanguageStatusItem,
    LanguageStatusSeverity,
    Progress,
    ProgressLocation,
    Uri,
} from 'vscode';
import {
    LanguageClient,
    ProgressToken,
    WorkDoneProgress,
    WorkDoneProgressBegin,
    WorkDoneProgressCreateRequest,
    WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import { describe } from './logging';
import {
    activeDocumentUri,
    activeLanguageId,
    createLanguageStatusItem,
    onDidChangeActiveTextEditor,
    onDidChangeDiagnostics,
    withProgress,
} from './vscodeapi';

/** The part of `tapps.reviewFile`'s answer that the status item shows. */
export interface FileReview {
    readonly overall: number;
    readonly passed: boolean;
    readonly threshold?: number;
}

/** The score to one decimal, never rounded up to the threshold it fails (69.96: "69.9"). */
export function shownScore(review: FileReview): string {
    const shown = review.overall.toFixed(1);
    const threshold = review.threshold ?? Infinity;
    if (review.overall < threshold && Number(shown) >= threshold) {
        return (Math.floor(review.overall * 10) / 10).toFixed(1);
    }
    return shown;
}

/** The part of `tapps.cacheStats`'s answer that the status item shows (docs/team-cache.md). */
export interface CacheStats {
    readonly hits: number;
    readonly misses: number;
    readonly remote?: {
        readonly enabled: boolean;
        readonly hits?: number;
        readonly misses?: number;
        readonly rejected?: number;
        readonly errors?: number;
        readonly breaker?: string;
    };
}

/** One line of cache counters: this server's lookups and, when on, the team cache's. */
export function cacheDetail(stats: CacheStats): string {
    const local = `cache ${stats.hits} hits, ${stats.misses} misses`;
    const remote = stats.remote;
    if (remote === undefined || !remote.enabled) {
        return local;
    }
    return (
        `${local}; team cache ${remote.hits ?? 0} hits, ${remote.misses ?? 0} misses, ` +
        `${remote.rejected ?? 0} rejected, ${remote.errors ?? 0} errors, breaker ${remote.breaker ?? '?'}`
    );
}

// The item's link: start a review, or stop the one running.
const REVIEW_ALL = { title: 'Review All', command: 'tapps.client.reviewAll' };
const CANCEL_REVIEW = { title: 'Cancel Review', command: 'tapps.client.cancelReview' };

export class ReviewStatus implements Disposable {
    private readonly item: LanguageStatusItem;
    private running = 0;
    private gate = 'no score yet';
    private cache = '';

    constructor() {
        this.item = createLanguageStatusItem('tapps.score', { language: 'python' });
        this.item.name = 'Tapps quality score';
        this.item.command = REVIEW_ALL;
        this.item.text = 'Tapps';
        this.item.detail = 'no score yet';
    }

    showReview(review: FileReview): void {
        const score = shownScore(review);
        this.item.text = review.passed ? `$(pass) Tapps ${score}` : `$(error) Tapps ${score}`;
        this.gate = review.passed ? 'quality gate: pass' : 'quality gate: fail';
        this.item.detail = [this.gate, this.cache].filter((part) => part !== '').join(' · ');
        // Its own label: a screen reader would otherwise read the icon as "$(error)".
        this.item.accessibilityInformation = { label: `Tapps ${score}, ${this.gate}` };
        this.item.severity = review.passed ? LanguageStatusSeverity.Information : LanguageStatusSeverity.Warning;
    }

    showCache(stats: CacheStats): void {
        this.cache = cacheDetail(stats);
        this.item.detail = [this.gate, this.cache].filter((part) => part !== '').join(' · ');
    }

    showError(message: string): void {
        this.item.text = 'Tapps';
        this.item.detail = message;
        this.item.accessibilityInformation = { label: `Tapps: ${message}` };
        this.item.severity = LanguageStatusSeverity.Error;
    }

    workStarted(): void {
        this.running += 1;
        this.item.busy = true;
        this.item.command = CANCEL_REVIEW;
    }

    workEnded(): void {
        this.running = Math.max(0, this.running - 1);
        this.item.busy = this.running > 0;
        this.item.command = this.item.busy ? CANCEL_REVIEW : REVIEW_ALL;
    }

    dispose(): void {
        this.item.dispose();
    }
}

/** Shows each server progress in the status bar and marks `status` busy meanwhile. */
export function trackProgress(client: LanguageClient, status: ReviewStatus): Disposable {
    const parts = new Set<ProgressPart>();
    const handler = client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
        const part = new ProgressPart(client, token, status, () => parts.delete(part));
        parts.add(part);
    });
    return Disposable.from(handler, {
        dispose: () => {
            parts.forEach((part) => part.end());
            parts.clear();
        },
    });
}

// One work-done progress of the server, from begin to end, as a window
// progress (the status bar).
class ProgressPart {
    private readonly listener: Disposable;
    private progress: Progress<{ message?: string; increment?: number }> | undefined;
    private reported = 0;
    private finish: (() => void) | undefined;
    private begun = false;
    private ended = false;

    constructor(
        client: LanguageClient,
        token: ProgressToken,
        private readonly status: ReviewStatus,
        private readonly onEnd: () => void,
    ) {
        this.listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
            if (value.kind === 'begin') {
                this.begin(value);
            } else if (value.kind === 'report') {
                this.report(value);
            } else {
                this.end();
            }
        });
    }

    private begin(params: WorkDoneProgressBegin): void {
        if (this.begun || this.ended) {
            return;
        }
        this.begun = true;
        this.status.workStarted();
        // The status bar has no cancel button (only notifications do): a scan is
        // cancelled from the language status item or with "Tapps: Cancel Review".
        void withProgress(
            { location: ProgressLocation.Window, title: params.title },
            (progress) =>
                new Promise<void>((resolve) => {
                    if (this.ended) {
                        resolve();
                        return;
                    }
                    this.progress = progress;
                    this.finish = resolve;
                    this.report(params);
                }),
        );
    }

    private report(params: WorkDoneProgressBegin | WorkDoneProgressReport): void {
        let increment: number | undefined;
        if (typeof params.percentage === 'number') {
            const percentage = Math.max(0, Math.min(params.percentage, 100));
            increment = Math.max(0, percentage - this.reported);
            this.reported += increment;
        }
        this.progress?.report({ message: params.message, increment });
    }

    end(): void {
        if (this.ended) {
            return;
        }
        this.ended = true;
        this.listener.dispose();
        if (this.begun) {
            this.status.workEnded();
        }
        this.finish?.();
        this.onEnd();
    }
}

/**
 * Keeps the status item on the active Python file's score: asks `fetch` again
 * when the editor changes, when that file's diagnostics change (a review
 * landed) and when `refresh` fires (the server restarted). `fetch` answers
 * undefined while there is no server, and the item keeps saying why.
 */
export function followActiveFile(
    status: ReviewStatus,
    fetch: (uri: Uri) => Promise<FileReview | undefined>,
    refresh: Event<void>,
    stats?: () => Promise<CacheStats | undefined>,
): Disposable {
    // Answers can arrive out of order; only the latest request may update the item.
    let latest = 0;
    const update = async (): Promise<void> => {
        const uri = activeDocumentUri();
        if (uri === undefined || activeLanguageId() !== 'python') {
            return;
        }
        const request = ++latest;
        try {
            const review = await fetch(uri);
            if (request === latest && review !== undefined) {
                status.showReview(review);
                const counters = stats === undefined ? undefined : await stats();
                if (request === latest && counters !== undefined) {
                    status.showCache(counters);
                }
            }
        } catch (error) {
            if (request === latest) {
                status.showError(describe(error));
            }
        }
    };
    void update();
    return Disposable.from(
        onDidChangeActiveTextEditor(() => void update()),
        onDidChangeDiagnostics((event) => {
            const uri = activeDocumentUri()?.toString();
            if (event.uris.some((changed) => changed.toString() === uri)) {
                void update();
            }
        }),
        refresh(() => void update()),
    );
}
