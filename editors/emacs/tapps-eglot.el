;;; tapps-eglot.el --- tapps-lsp through Eglot (Emacs 29+)  -*- lexical-binding: t; -*-

;; Put this in your init file. `python3' must be the interpreter that has tapps-lsp
;; installed; write its full path (e.g. a virtualenv's bin/python) if it is not on PATH.
;; Eglot runs one server per major mode, so this replaces another Python server there.

(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               ;; Eglot starts the server in the project folder: -I (isolated) keeps that
               ;; folder off sys.path, so a `tapps_lsp/' in it cannot stand in for
               ;; tapps-lsp; PYTHONSAFEPATH does the same for the Pythons the server starts.
               '((python-mode python-ts-mode)
                 . ("env" "PYTHONSAFEPATH=1" "python3" "-I" "-m" "tapps_lsp"))))

;; The answer to workspace/configuration (section "tapps"); keys in docs/configuration.md.
;; Per project, set the same in .dir-locals.el:
;;   ((nil . ((eglot-workspace-configuration . (:tapps (:qualityThreshold 80))))))
(setq-default eglot-workspace-configuration
              '(:tapps (:qualityThreshold 70 :lintSelect ["E" "F" "W"])))

(add-hook 'python-mode-hook #'eglot-ensure)
(add-hook 'python-ts-mode-hook #'eglot-ensure)

;; Server commands. The scan runs in the background; Eglot shows its $/progress in the
;; mode line, and its diagnostics reach Flymake.
(defun tapps--execute (command &rest arguments)
  "Run the tapps-lsp COMMAND with ARGUMENTS and return its result."
  (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                   (list :command command :arguments (vconcat arguments))))

(defun tapps-review-all ()
  "Review every Python file of the workspace in the background."
  (interactive)
  (message "tapps: task %s" (plist-get (tapps--execute "tapps.reviewWorkspace") :taskId)))

(defun tapps-cancel ()
  "Cancel every running tapps-lsp task."
  (interactive)
  (seq-doseq (task (tapps--execute "tapps.listTasks"))
    (when (member (plist-get task :state) '("queued" "running"))
      (tapps--execute "tapps.cancelTask" (plist-get task :taskId)))))

(defun tapps-report ()
  "Write the HTML report of the last workspace review and open it."
  (interactive)
  (browse-url-of-file (tapps--execute "tapps.exportReport" '(:format "html"))))

(provide 'tapps-eglot)
;;; tapps-eglot.el ends here
