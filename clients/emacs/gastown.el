;;; gastown.el --- Drive a Gas Town of coding agents from Emacs  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; Author: The gastown authors
;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14") (magit-section "3.3.0") (transient "0.3.7"))
;; Keywords: tools, processes

;; This file is not part of GNU Emacs.

;; Permission is hereby granted, free of charge, to any person
;; obtaining a copy of this software, to deal in it without
;; restriction (MIT license; see the gastown repository).

;;; Commentary:

;; A thin client for `gastown-server', the JSON-RPC server of Gas Town
;; (an orchestrator of AI coding agents running in tmux over a
;; Beads-compatible ledger).  Every piece of data comes from the server;
;; every update arrives by push notification.  This file holds the
;; connection layer: one `jsonrpc' connection per town, a
;; `*gastown-events*' log, automatic reconnection that resumes the
;; activity feed from the last cursor, and one-line error messages.
;;
;; Entry points: `gastown-dispatch' (a transient menu reaching
;; everything), `gastown-mayor', `gastown-convoys', `gastown-mail',
;; `gastown-agents', `gastown-feed', `gastown-sling', `gastown-bead'.

;;; Code:

(require 'cl-lib)
(require 'jsonrpc)
(require 'subr-x)
(require 'seq)
(require 'ansi-color)

(defgroup gastown nil
  "Emacs client for Gas Town (`gastown-server')."
  :group 'tools
  :prefix "gastown-")

(defcustom gastown-server-command '("gastown-server" "--stdio")
  "Command line that starts the server speaking JSON-RPC on stdio.
A list of strings; \"%t\" in an element is replaced by the town
directory.  The server also gets the town in $GT_TOWN and runs with
the town as its working directory."
  :type '(repeat string))

(defcustom gastown-town nil
  "Town directory used when a command does not say which town.
When nil, use $GT_TOWN, else the town holding `default-directory',
else ask."
  :type '(choice (const :tag "Find or ask" nil) directory))

(defcustom gastown-towns nil
  "Town directories offered for completion when asking for a town."
  :type '(repeat directory))

(defcustom gastown-actor "overseer"
  "Address the client acts as (recorded on mail and events)."
  :type 'string)

(defcustom gastown-request-timeout 30
  "Seconds to wait for the server to answer a request."
  :type 'number)

(defcustom gastown-reconnect-delays '(0.2 0.5 1 2 4 8)
  "Seconds to wait before successive reconnection attempts.
The last value repeats until `gastown-reconnect-max-attempts'."
  :type '(repeat number))

(defcustom gastown-reconnect-max-attempts 30
  "Give up reconnecting to a town after this many failed attempts."
  :type 'integer)

(defcustom gastown-events-log-max-lines 5000
  "Lines kept in the `*gastown-events*' buffer; 0 disables logging."
  :type 'integer)

(defcustom gastown-events-log-width 400
  "Characters of each message kept in the `*gastown-events*' buffer."
  :type 'integer)

(defcustom gastown-feed-keep 1000
  "Feed events remembered per town (shown when a feed buffer opens)."
  :type 'integer)

(defvar gastown-notification-functions nil
  "Abnormal hook run for every server notification.
Each function gets TOWN (a directory name), METHOD (a symbol such
as `$/gastown/convoyChanged') and PARAMS (a plist).")

(defvar gastown-connected-functions nil
  "Abnormal hook run with TOWN after a connection is (re)established.
Run after the feed subscription is resumed, so buffers can refresh.")

(defvar gastown-disconnected-functions nil
  "Abnormal hook run with TOWN when its server goes away.")

(defvar-local gastown-buffer-town nil
  "Town directory the current buffer shows.")
(put 'gastown-buffer-town 'permanent-local t)

(defconst gastown-version "0.1.0"
  "Version of this client.")

;;;; Events log

(defconst gastown-events-buffer-name "*gastown-events*"
  "Name of the buffer logging traffic with every server.")

(defvar gastown--log-lines 0
  "Lines in the events log buffer (counted, not recounted).")

(defun gastown--events-buffer ()
  "Return the events log buffer, creating it if needed."
  (or (get-buffer gastown-events-buffer-name)
      (with-current-buffer (get-buffer-create gastown-events-buffer-name)
        (setq gastown--log-lines 0)
        (buffer-disable-undo)
        (special-mode)
        (current-buffer))))

(defun gastown--log (town tag fmt &rest args)
  "Log one line to `*gastown-events*' for TOWN with TAG.
FMT and ARGS are as in `format'; the line is truncated to
`gastown-events-log-width' characters."
  (when (> gastown-events-log-max-lines 0)
    (with-current-buffer (gastown--events-buffer)
      (let ((inhibit-read-only t)
            (line (apply #'format fmt args)))
        (save-excursion
          (goto-char (point-max))
          (insert (format-time-string "%H:%M:%S.%3N ")
                  (if town (abbreviate-file-name (directory-file-name town)) "-")
                  " " tag " "
                  (truncate-string-to-width
                   (replace-regexp-in-string "\n" "\\\\n" line)
                   gastown-events-log-width nil nil "...")
                  "\n")
          (when (> (cl-incf gastown--log-lines) (+ gastown-events-log-max-lines 500))
            (goto-char (point-min))
            (forward-line 500)
            (delete-region (point-min) (point))
            (setq gastown--log-lines (count-lines (point-min) (point-max)))))))))

(defun gastown--json (object)
  "Return OBJECT (a JSON-like value) as a compact JSON string, never failing."
  (condition-case nil
      (json-serialize object :null-object nil :false-object :json-false)
    (error (format "%S" object))))

;;;###autoload
(defun gastown-events ()
  "Show the `*gastown-events*' log of traffic with the servers."
  (interactive)
  (pop-to-buffer (gastown--events-buffer))
  (goto-char (point-max)))

;;;; Towns

(defvar gastown--states (make-hash-table :test #'equal)
  "Map town directory to its `gastown--state'.")


(defun gastown--normalize-town (dir)
  "Return DIR as an absolute directory name without symlinks."
  (file-name-as-directory (file-truename (expand-file-name dir))))

(defun gastown--town-at (dir)
  "Return the town directory holding DIR, or nil."
  (when-let ((root (and dir (locate-dominating-file
                             dir (lambda (d) (file-exists-p
                                              (expand-file-name ".gastown/ledger.db" d)))))))
    (gastown--normalize-town root)))

(defun gastown-read-town (&optional prompt)
  "Read a town directory with PROMPT, offering known towns."
  (let* ((known (delete-dups
                 (append (hash-table-keys gastown--states)
                         (mapcar #'gastown--normalize-town gastown-towns))))
         (dir (if known
                  (completing-read (or prompt "Town: ") known nil nil nil nil (car known))
                (read-directory-name (or prompt "Town: ") nil nil t))))
    (gastown--normalize-town dir)))

(defun gastown-current-town (&optional ask)
  "Return the town for the current command.
With ASK non-nil (a prefix argument), always ask the user."
  (cond
   (ask (gastown-read-town))
   (gastown-buffer-town)
   (gastown-town (gastown--normalize-town gastown-town))
   ((let ((env (getenv "GT_TOWN")))
      (and env (not (string-empty-p env)) (gastown--normalize-town env))))
   ((gastown--town-at default-directory))
   ((= (hash-table-count gastown--states) 1)
    (car (hash-table-keys gastown--states)))
   (t (gastown-read-town))))

;;;; Connection state

(defclass gastown-connection (jsonrpc-process-connection)
  ((town :initarg :town :reader gastown-connection-town
         :documentation "Town directory this connection serves."))
  :documentation "A JSON-RPC connection to one town's `gastown-server'.")

(cl-defmethod jsonrpc-connection-send :after ((conn gastown-connection)
                                              &key id method params result error
                                              &allow-other-keys)
  "Log outgoing messages of CONN (ID METHOD PARAMS RESULT ERROR)."
  (gastown--log (gastown-connection-town conn) "-->"
                "%s%s %s" (or method (if error "error" "result"))
                (if id (format " #%s" id) "")
                (gastown--json (or params result error))))

(cl-defstruct (gastown--state (:constructor gastown--state-create (town)))
  "What the client remembers about one town across reconnections."
  town
  (conn nil)
  (status 'down)                        ; down | connecting | ready
  (cursor nil)                          ; last feed event id seen
  (server-info nil)
  (closing nil)                         ; non-nil: do not reconnect
  (attempts 0)
  (timer nil)
  (stderr-tail nil)                     ; last stderr lines, newest first
  (events nil)                          ; recent feed events, newest first
  (event-count 0)
  (transcripts (make-hash-table :test #'equal))) ; agent -> (offset . subscription)

(defun gastown--state (town)
  "Return the state record of TOWN, creating it."
  (or (gethash town gastown--states)
      (puthash town (gastown--state-create town) gastown--states)))

(defun gastown-connected-p (town)
  "Return non-nil if TOWN has a live, initialized connection."
  (let ((st (gethash town gastown--states)))
    (and st (eq (gastown--state-status st) 'ready)
         (gastown--state-conn st)
         (jsonrpc-running-p (gastown--state-conn st)))))

(defun gastown--command (town)
  "Return the server command line for TOWN."
  (mapcar (lambda (arg) (string-replace "%t" (directory-file-name town) arg))
          gastown-server-command))

(defun gastown--check-startable (town)
  "Signal a `user-error' saying what to do if TOWN's server cannot start."
  (let ((where (abbreviate-file-name town))
        (program (car (gastown--command town))))
    (unless (file-directory-p town)
      (user-error "Gastown: town %s does not exist; create it with `gt install %s' \
or set `gastown-town'" where where))
    (unless (file-exists-p (expand-file-name ".gastown/ledger.db" town))
      (user-error "Gastown: %s is not a town (no .gastown/ledger.db); run \
`gt install %s' or set `gastown-town'" where where))
    (unless (and program (or (file-name-absolute-p program)
                             (executable-find program)))
      (user-error "Gastown: cannot find `%s' on exec-path; install gastown \
\(pip install gastown) or set `gastown-server-command'" program))
    (when (and (file-name-absolute-p program) (not (file-executable-p program)))
      (user-error "Gastown: `%s' is not an executable file; fix \
`gastown-server-command'" program))))

(defun gastown--stderr-filter (town)
  "Return a process filter logging a server's stderr for TOWN."
  (let ((pending ""))
    (lambda (_proc string)
      (let* ((text (concat pending string))
             (lines (split-string text "\n")))
        (setq pending (car (last lines)))
        (dolist (line (butlast lines))
          (unless (string-empty-p line)
            (gastown--log town "stderr" "%s" line)
            (let ((st (gastown--state town)))
              (setf (gastown--state-stderr-tail st)
                    (seq-take (cons line (gastown--state-stderr-tail st)) 5)))))))))

(defun gastown--start (town)
  "Start TOWN's server process and return a new `gastown-connection'."
  (gastown--check-startable town)
  (let* ((default-directory town)
         (process-environment (cons (concat "GT_TOWN=" (directory-file-name town))
                                    process-environment))
         (name (format "gastown<%s>" (abbreviate-file-name
                                      (directory-file-name town))))
         (stderr (make-pipe-process :name (concat name " stderr")
                                    :noquery t
                                    :coding 'utf-8-unix
                                    :filter (gastown--stderr-filter town)))
         (proc (condition-case err
                   (make-process :name name
                                 :command (gastown--command town)
                                 :connection-type 'pipe
                                 :coding 'utf-8-emacs-unix
                                 :noquery t
                                 :stderr stderr)
                 (file-error
                  (delete-process stderr)
                  (user-error "Gastown: cannot start %s: %s; set `gastown-server-command'"
                              (car (gastown--command town))
                              (error-message-string err))))))
    (let ((conn (gastown-connection
                 :name name
                 :town town
                 :process proc
                 ;; jsonrpc's own pretty-printing log is slow on big
                 ;; results; `*gastown-events*' replaces it.
                 :events-buffer-scrollback-size 0
                 :notification-dispatcher #'gastown--on-notification
                 :request-dispatcher #'gastown--on-request
                 :on-shutdown #'gastown--on-shutdown)))
      (process-put proc 'gastown-stderr stderr)
      conn)))

(defun gastown--on-request (conn method _params)
  "Answer a request METHOD from CONN's server: none are supported."
  (gastown--log (gastown-connection-town conn) "<--" "request %s (unsupported)" method)
  (jsonrpc-error :code -32601 :message (format "Method not found: %s" method)))

(defun gastown--on-notification (conn method params)
  "Dispatch notification METHOD with PARAMS from CONN."
  (let* ((town (gastown-connection-town conn))
         (st (gastown--state town)))
    (gastown--log town "<--" "%s %s" method (gastown--json params))
    (when (eq method '$/gastown/event)
      (let ((id (gastown-event-id params)))
        (when (and (integerp id)
                   (or (null (gastown--state-cursor st))
                       (> id (gastown--state-cursor st))))
          (setf (gastown--state-cursor st) id))
        (push (or (plist-get params :event) params) (gastown--state-events st))
        (when (> (cl-incf (gastown--state-event-count st)) (* 2 gastown-feed-keep))
          (setf (gastown--state-events st)
                (seq-take (gastown--state-events st) gastown-feed-keep)
                (gastown--state-event-count st) gastown-feed-keep))))
    (when (eq method '$/gastown/transcript)
      (let ((agent (plist-get params :agent))
            (offset (gastown-transcript-chunk-end params)))
        (when-let ((cell (and agent offset (gethash agent (gastown--state-transcripts st)))))
          (setcar cell offset))))
    (dolist (fn gastown-notification-functions)
      (condition-case err
          (funcall fn town method params)
        (error (gastown--log town "!!" "%s failed on %s: %s"
                             fn method (error-message-string err)))))))

(defun gastown-recent-events (town)
  "Return the feed events of TOWN received lately, oldest first."
  (let ((st (gethash town gastown--states)))
    (and st (reverse (gastown--state-events st)))))

(defun gastown-event-id (event)
  "Return the cursor id of EVENT, a feed event plist (or its wrapper)."
  (let ((ev (or (plist-get event :event) event)))
    (or (plist-get ev :id) (plist-get ev :cursor))))

(defun gastown-transcript-chunk-end (chunk)
  "Return the byte offset just past the transcript CHUNK, or nil."
  (or (plist-get chunk :end)
      (let ((offset (plist-get chunk :offset))
            (data (plist-get chunk :data)))
        (and (integerp offset) (stringp data)
             (+ offset (string-bytes (encode-coding-string data 'utf-8)))))))

(defun gastown--on-shutdown (conn)
  "Handle the death of CONN's server: log, tell buffers, reconnect."
  (let* ((town (gastown-connection-town conn))
         (st (gastown--state town))
         (proc (jsonrpc--process conn))
         (stderr (process-get proc 'gastown-stderr)))
    (when (process-live-p stderr)
      ;; Let the last stderr lines arrive before saying why it died.
      (accept-process-output stderr 0.05)
      (delete-process stderr))
    (when (eq (gastown--state-conn st) conn)
      (let ((was (gastown--state-status st)))
        (setf (gastown--state-conn st) nil
              (gastown--state-status st) 'down)
        (gastown--log town "!!" "server exited (%s)" (process-exit-status proc))
        (run-hook-with-args 'gastown-disconnected-functions town)
        ;; A server dying while connecting is reported by `gastown--connect'
        ;; (and retried by the reconnection loop if that is what connects).
        (unless (or (gastown--state-closing st) (eq was 'connecting))
          (message "Gastown: server for %s exited%s; reconnecting (see M-x gastown-events)"
                   (abbreviate-file-name town)
                   (if-let ((line (car (gastown--state-stderr-tail st))))
                       (format " (%s)" line) ""))
          (gastown--schedule-reconnect town))))))

(defun gastown--schedule-reconnect (town)
  "Arrange to reconnect to TOWN after the next back-off delay."
  (let* ((st (gastown--state town))
         (n (gastown--state-attempts st))
         (delay (nth (min n (1- (length gastown-reconnect-delays)))
                     gastown-reconnect-delays)))
    (when (timerp (gastown--state-timer st))
      (cancel-timer (gastown--state-timer st)))
    (if (>= n gastown-reconnect-max-attempts)
        (message "Gastown: gave up reconnecting to %s; M-x gastown-reconnect to retry"
                 (abbreviate-file-name town))
      (setf (gastown--state-timer st)
            (run-with-timer (or delay 1) nil #'gastown--reconnect-attempt town)))))

(defun gastown--reconnect-attempt (town)
  "Try once to reconnect to TOWN; on failure schedule the next attempt."
  (let ((st (gastown--state town)))
    (setf (gastown--state-timer st) nil)
    (unless (or (gastown--state-closing st) (gastown-connected-p town))
      (cl-incf (gastown--state-attempts st))
      (condition-case err
          (progn (gastown--connect town)
                 (message "Gastown: reconnected to %s" (abbreviate-file-name town)))
        (error
         (gastown--log town "!!" "reconnect failed: %s" (error-message-string err))
         (unless (gastown-connected-p town)
           (gastown--schedule-reconnect town)))))))

(defun gastown--connect (town)
  "Start and initialize a connection to TOWN, resuming subscriptions.
Return the connection."
  (let* ((st (gastown--state town))
         (conn (progn (setf (gastown--state-status st) 'connecting
                            (gastown--state-closing st) nil
                            (gastown--state-stderr-tail st) nil)
                      (gastown--start town))))
    (setf (gastown--state-conn st) conn)
    (let ((info (condition-case err
                    (jsonrpc-request conn 'initialize
                                     (list :clientInfo (list :name "gastown.el"
                                                             :version gastown-version)
                                           :processId (emacs-pid)
                                           :town (directory-file-name town)
                                           :actor gastown-actor)
                                     :timeout gastown-request-timeout)
                  (jsonrpc-error
                   (setf (gastown--state-status st) 'down)
                   (let ((line (car (gastown--state-stderr-tail st))))
                     (when (jsonrpc-running-p conn)
                       (setf (gastown--state-closing st) t)
                       (jsonrpc-shutdown conn)
                       (setf (gastown--state-closing st) nil))
                     (setf (gastown--state-conn st) nil)
                     (user-error "Gastown: server for %s did not start: %s"
                                 (abbreviate-file-name town)
                                 (or line (gastown--error-text err))))))))
      (gastown--drain-soon conn)
      (setf (gastown--state-server-info st) info
            (gastown--state-status st) 'ready
            (gastown--state-attempts st) 0)
      (gastown--resume-subscriptions town conn)
      (run-hook-with-args 'gastown-connected-functions town)
      conn)))

(defun gastown--resume-subscriptions (town conn)
  "Subscribe CONN to TOWN's feed from the last cursor and resume transcripts."
  (let* ((st (gastown--state town))
         (cursor (gastown--state-cursor st))
         (res (jsonrpc-request conn 'feed/subscribe
                               (if cursor (list :cursor cursor) (list :cursor nil))
                               :timeout gastown-request-timeout)))
    (gastown--log town "<--" "feed/subscribe %s" (gastown--json res))
    (gastown--drain-soon conn)
    (unless cursor
      (let ((c (and (listp res) (plist-get res :cursor))))
        (when (integerp c) (setf (gastown--state-cursor st) c))))
    (maphash (lambda (agent cell)
               (jsonrpc-async-request
                conn 'transcript/subscribe (list :agent agent :offset (car cell))
                :timeout gastown-request-timeout
                :success-fn (lambda (res)
                              (setcdr cell (plist-get res :subscription)))
                :error-fn (lambda (e)
                            (gastown--log town "!!" "transcript/subscribe %s: %s"
                                          agent (plist-get e :message)))))
             (gastown--state-transcripts st))))

(defun gastown-conn (&optional town)
  "Return a live connection to TOWN (default: the current town), connecting."
  (let* ((town (or town (gastown-current-town)))
         (st (gastown--state town)))
    (if (gastown-connected-p town)
        (gastown--state-conn st)
      (when (timerp (gastown--state-timer st))
        (cancel-timer (gastown--state-timer st))
        (setf (gastown--state-timer st) nil))
      (gastown--connect town))))

;;;###autoload
(defun gastown-connect (town)
  "Connect to TOWN's server (with a prefix argument, ask which town)."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (gastown-conn town)
  (message "Gastown: connected to %s" (abbreviate-file-name town)))

(defun gastown-disconnect (town)
  "Shut down the connection to TOWN without reconnecting."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let ((st (gastown--state town)))
    (setf (gastown--state-closing st) t)
    (when (timerp (gastown--state-timer st))
      (cancel-timer (gastown--state-timer st)))
    (when-let ((conn (gastown--state-conn st)))
      (when (jsonrpc-running-p conn)
        (jsonrpc-shutdown conn t)))
    (setf (gastown--state-conn st) nil
          (gastown--state-status st) 'down)))

(defun gastown-reconnect (town)
  "Reconnect to TOWN now, resuming from the last feed cursor."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let ((st (gastown--state town)))
    (setf (gastown--state-attempts st) 0)
    (gastown-disconnect town)
    (setf (gastown--state-closing st) nil)
    (gastown-connect town)))

(defun gastown-shutdown-all ()
  "Disconnect from every town."
  (maphash (lambda (town _) (gastown-disconnect town)) gastown--states))

(add-hook 'kill-emacs-hook #'gastown-shutdown-all)

;;;; Requests

(defun gastown--drain (conn)
  "Handle messages left unread in CONN's process buffer.
A synchronous `jsonrpc-request' returns by throwing out of the
process filter as soon as its answer is parsed; messages that came
in the same read (often the notifications the request caused) stay
in the buffer until the server writes again.  Run the filter on
them now."
  (let ((proc (jsonrpc--process conn)))
    (when (and (process-live-p proc)
               (buffer-live-p (process-buffer proc))
               (> (buffer-size (process-buffer proc)) 0))
      (jsonrpc--process-filter proc ""))))

(defun gastown--drain-soon (conn)
  "Arrange for `gastown--drain' on CONN once the current command is done."
  (run-at-time 0 nil #'gastown--drain conn))

(defun gastown--error-text (err)
  "Return the human message carried by ERR, a `jsonrpc-error' condition."
  (let ((data (cdr err)))
    (or (and (consp data) (alist-get 'jsonrpc-error-message (cdr data)))
        (and (consp data) (alist-get 'jsonrpc-error-message data))
        (error-message-string err))))

(defun gastown--params (params)
  "Return PARAMS ready to send: an empty object when nil."
  (or params (make-hash-table)))

(defun gastown-request (method &optional params town)
  "Call METHOD with PARAMS on TOWN's server and return the result.
On a server error, signal a `user-error' with its one-line message."
  (let* ((town (or town (gastown-current-town)))
         (conn (gastown-conn town)))
    (condition-case err
        (let ((start (float-time))
              (res (jsonrpc-request conn method (gastown--params params)
                                    :timeout gastown-request-timeout)))
          (gastown--log town "<--" "%s (%.0f ms) %s" method (* 1000 (- (float-time) start))
                        (gastown--json res))
          (gastown--drain-soon conn)
          res)
      (jsonrpc-error
       (gastown--log town "!!" "%s: %s" method (gastown--error-text err))
       (if (eql (alist-get 'jsonrpc-error-code (cdr err)) -32601)
           (user-error "Gastown: this gastown-server has no `%s' method; update gastown" method)
         (user-error "Gastown: %s" (gastown--error-text err)))))))

(cl-defun gastown-async (method params on-result &key town on-error)
  "Call METHOD with PARAMS on TOWN's server; call ON-RESULT with the result.
On an error, call ON-ERROR with the message, or show the message."
  (let* ((town (or town (gastown-current-town)))
         (conn (gastown-conn town)))
    (jsonrpc-async-request
     conn method (gastown--params params)
     :timeout gastown-request-timeout
     :success-fn (lambda (result)
                   (gastown--log town "<--" "%s %s" method (gastown--json result))
                   (condition-case e
                       (funcall on-result result)
                     (error (gastown--log town "!!" "%s handler: %s" method
                                          (error-message-string e))
                            (message "Gastown: %s" (error-message-string e)))))
     :error-fn (lambda (e)
                 (let ((msg (or (plist-get e :message) (format "%S" e))))
                   (gastown--log town "!!" "%s: %s" method msg)
                   (if on-error (funcall on-error msg)
                     (message "Gastown: %s" msg))))
     :timeout-fn (lambda ()
                   (let ((msg (format "%s timed out" method)))
                     (gastown--log town "!!" "%s" msg)
                     (if on-error (funcall on-error msg)
                       (message "Gastown: %s" msg)))))))

;;;; Transcript subscriptions (kept here so reconnection can resume them)

(defun gastown-transcript-subscribe (town agent &optional offset)
  "Subscribe to AGENT's transcript on TOWN from byte OFFSET (nil: the end).
Return the server's answer, a plist with the starting :offset.
Chunks arrive as `$/gastown/transcript' notifications; after a
reconnection the subscription resumes from the last chunk seen."
  (let* ((st (gastown--state town))
         (old (gethash agent (gastown--state-transcripts st))))
    (when (and old (cdr old) (gastown-connected-p town))
      (ignore-errors
        (gastown-request 'transcript/unsubscribe (list :subscription (cdr old)) town)))
    (let* ((res (gastown-request 'transcript/subscribe
                                 (list :agent agent :offset offset)
                                 town))
           (start (or (plist-get res :offset) offset 0)))
      (puthash agent (cons start (plist-get res :subscription))
               (gastown--state-transcripts st))
      res)))

(defun gastown-transcript-unsubscribe (town agent)
  "Stop receiving AGENT's transcript from TOWN."
  (let* ((st (gethash town gastown--states))
         (cell (and st (gethash agent (gastown--state-transcripts st)))))
    (when cell
      (remhash agent (gastown--state-transcripts st))
      (when (and (cdr cell) (gastown-connected-p town))
        (gastown-async 'transcript/unsubscribe (list :subscription (cdr cell)) #'ignore
                       :town town :on-error #'ignore)))))

;;;; Garbage collection during bulk loads

(defcustom gastown-bulk-gc-cons-threshold (* 64 1024 1024)
  "Value of `gc-cons-threshold' while a buffer loads many items, or nil.
Parsing thousands of beads conses megabytes; at Emacs's default
threshold, garbage collection took most of the time of opening a
large convoys buffer.  The old value comes back when the load ends
\(after 10 seconds at the latest)."
  :type '(choice (const :tag "Leave it alone" nil) integer))

(defvar gastown--gc-saved nil
  "The `gc-cons-threshold' to restore, while raised.")
(defvar gastown--gc-holders 0
  "Loads in progress that asked for a raised threshold.")
(defvar gastown--gc-timer nil
  "Timer restoring the threshold whatever happens.")

(defun gastown-gc-hold ()
  "Raise `gc-cons-threshold' for a bulk load; pair with `gastown-gc-release'."
  (when gastown-bulk-gc-cons-threshold
    (when (zerop gastown--gc-holders)
      (setq gastown--gc-saved gc-cons-threshold
            gc-cons-threshold (max gc-cons-threshold gastown-bulk-gc-cons-threshold)
            gastown--gc-timer (run-with-timer 10 nil #'gastown--gc-restore)))
    (cl-incf gastown--gc-holders)))

(defun gastown-gc-release ()
  "End one `gastown-gc-hold', restoring the threshold after the last."
  (when (> gastown--gc-holders 0)
    (cl-decf gastown--gc-holders)
    (when (zerop gastown--gc-holders)
      (gastown--gc-restore))))

(defun gastown--gc-restore ()
  "Put `gc-cons-threshold' back, unless someone else changed it meanwhile."
  (when (timerp gastown--gc-timer)
    (cancel-timer gastown--gc-timer))
  (when (and gastown--gc-saved
             (eql gc-cons-threshold (max gastown--gc-saved
                                         (or gastown-bulk-gc-cons-threshold 0))))
    (setq gc-cons-threshold gastown--gc-saved))
  (setq gastown--gc-saved nil
        gastown--gc-timer nil
        gastown--gc-holders 0))

;;;; Small helpers shared by the buffers

(defvar execute-extended-command--binding-timer)

(defun gastown-result (format-string &rest args)
  "Say a command's result like `message' with FORMAT-STRING and ARGS.
After a command run with \\[execute-extended-command], Emacs shows \"You can
run the command ... with ...\" two seconds later, which hid results
such as where a sling put the work; that hint is cancelled here.
Return the text shown."
  (let ((text (apply #'format-message format-string args)))
    (message "%s" text)
    ;; The hint's timer is armed after this command returns: cancel it
    ;; from a timer that runs once the command loop regains control.
    (run-at-time 0 nil #'gastown--cancel-binding-hint)
    text))

(defun gastown--cancel-binding-hint ()
  "Cancel the pending \"You can run the command\" hint, if any."
  (when (and (boundp 'execute-extended-command--binding-timer)
             (timerp execute-extended-command--binding-timer))
    (cancel-timer execute-extended-command--binding-timer)
    (setq execute-extended-command--binding-timer nil)))

(defun gastown-get (plist &rest keys)
  "Return the first non-nil value in PLIST among KEYS."
  (cl-loop for k in keys thereis (plist-get plist k)))

(defun gastown-seq (value)
  "Return VALUE (a vector, list or nil) as a list."
  (append value nil))

(defun gastown-result-items (result &rest keys)
  "Return the list of items in RESULT.
RESULT is either an array or an object holding the array under
one of KEYS."
  (if (or (vectorp result) (and (listp result) (not (keywordp (car-safe result)))))
      (gastown-seq result)
    (gastown-seq (apply #'gastown-get result keys))))

(defun gastown-true-p (value)
  "Return non-nil if the JSON VALUE is true."
  (and value (not (eq value :json-false))))

(defun gastown-str (value)
  "Return VALUE as a display string (\"\" for nil)."
  (cond ((null value) "")
        ((eq value :json-false) "no")
        ((eq value t) "yes")
        ((stringp value) value)
        (t (format "%s" value))))

(defun gastown-time (value)
  "Return the RFC 3339 timestamp VALUE shortened for display."
  (if (and (stringp value) (string-match
                             "\\`\\([0-9-]+\\)T\\([0-9]+:[0-9]+\\)" value))
      (format "%s %s" (match-string 1 value) (match-string 2 value))
    (gastown-str value)))

(defun gastown-buffer (kind town &optional id)
  "Return the buffer for KIND (and ID) showing TOWN.
The name is *gastown-KIND[: ID]*, with the town's name appended when
that name already belongs to another town."
  (let* ((base (format "*gastown-%s%s*" kind (if id (concat ": " id) "")))
         (existing (get-buffer base))
         (owner (and existing (buffer-local-value 'gastown-buffer-town existing))))
    (if (or (null owner) (equal owner town))
        (get-buffer-create base)
      (get-buffer-create
       (format "*gastown-%s%s<%s>*" kind (if id (concat ": " id) "")
               (file-name-nondirectory (directory-file-name town)))))))

(defun gastown-buffers-of (mode town)
  "Return live buffers in major MODE showing TOWN."
  (cl-loop for b in (buffer-list)
           when (and (eq (buffer-local-value 'major-mode b) mode)
                     (equal (buffer-local-value 'gastown-buffer-town b) town))
           collect b))

(defun gastown-find-property (prop value &optional start end)
  "Return the first position between START and END where PROP is `equal' to VALUE.
Unlike `text-property-any', compare with `equal' (ids are strings)."
  (let ((pos (or start (point-min)))
        (end (or end (point-max)))
        found)
    (while (and (not found) pos (< pos end))
      (if (equal (get-text-property pos prop) value)
          (setq found pos)
        (setq pos (next-single-property-change pos prop nil end))))
    found))

(defun gastown-filter-terminal (string)
  "Return STRING without OSC sequences and stray control characters.
`ansi-color-apply' handles CSI sequences but leaves OSC ones (titles,
hyperlinks), carriage returns and other C0 controls except newline,
tab and escape."
  (replace-regexp-in-string
   "\e][^\a\e]*\\(?:\a\\|\e\\\\\\)\\|[\r\0-\b\v\f\016-\032\034-\037]" "" string))

(defvar gastown-mode-line-function nil
  "Function returning the mode-line text for the current buffer's town.")

(defun gastown-header-line ()
  "Return a header line saying the town and its connection state."
  (let* ((town gastown-buffer-town)
         (st (and town (gethash town gastown--states)))
         (status (if st (gastown--state-status st) 'down)))
    (concat (propertize (abbreviate-file-name (or town "no town")) 'face 'bold)
            (pcase status
              ('ready "")
              ('connecting (propertize "  [connecting]" 'face 'warning))
              (_ (propertize "  [disconnected: reconnecting, see M-x gastown-events]"
                             'face 'error))))))

;;;; Entry points in the other files (for load-path installs)

(autoload 'gastown-mayor "gastown-transcript" nil t)
(autoload 'gastown-transcript "gastown-transcript" nil t)
(autoload 'gastown-nudge "gastown-transcript" nil t)
(autoload 'gastown-attach "gastown-transcript" nil t)
(autoload 'gastown-convoys "gastown-convoys" nil t)
(autoload 'gastown-mail "gastown-mail" nil t)
(autoload 'gastown-mail-compose "gastown-mail" nil t)
(autoload 'gastown-mail-mode-line-mode "gastown-mail" nil t)
(autoload 'gastown-agents "gastown-agents" nil t)
(autoload 'gastown-seance "gastown-agents" nil t)
(autoload 'gastown-handoff "gastown-agents" nil t)
(autoload 'gastown-peek "gastown-agents" nil t)
(autoload 'gastown-sling "gastown-beads" nil t)
(autoload 'gastown-feed "gastown-beads" nil t)
(autoload 'gastown-bead "gastown-beads" nil t)
(autoload 'gastown-dispatch "gastown-dispatch" nil t)

(provide 'gastown)

;; Local Variables:
;; sentence-end-double-space: t
;; End:

;;; gastown.el ends here
